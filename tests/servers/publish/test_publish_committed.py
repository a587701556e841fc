"""The one publish-after-commit sequence (load → publish → mark), on real Redis and PostgreSQL."""

from __future__ import annotations

import json

import redis
from sqlalchemy import text

from shelfops_alerts.publish.changes import (
    publish_changes,
    publish_committed,
    publish_unpublished,
)
from tests.support.mail import put_deliveries
from tests.support.waiting import wait_until


def history_ids(db) -> list[int]:
    with db() as session:
        return [
            int(i)
            for i in session.execute(text("SELECT id FROM alert_history ORDER BY id")).scalars()
        ]


def test_committed_changes_are_published_on_their_channel_then_marked(db, settings):
    put_deliveries(db, 2, customer_id="C9")
    ids = history_ids(db)
    client = redis.Redis.from_url(settings.redis_url.reveal())
    listener = client.pubsub(ignore_subscribe_messages=True)
    listener.subscribe("alerts:C9")
    wait_until(lambda: client.pubsub_numsub("alerts:C9")[0][1] == 1, 5, "the subscription")

    # When the two changes are published
    with db.begin() as session:
        assert publish_committed(session, client, history_ids=ids) == 2

    # Then a listener got both, in order, and both are marked published
    got: list[dict] = []

    def two_received() -> bool:
        message = listener.get_message(timeout=0.1)
        if message is not None:
            got.append(message)
        return len(got) == 2

    wait_until(two_received, 5, "two messages")
    assert [json.loads(m["data"])["history_id"] for m in got] == ids
    with db() as session:
        unpublished = session.execute(
            text("SELECT count(*) FROM alert_history WHERE published_at IS NULL")
        ).scalar_one()
    assert unpublished == 0
    # And the relay finds nothing left to publish
    with db.begin() as session:
        assert publish_unpublished(session, client, older_than_s=0, limit=10) == 0


def test_each_customer_gets_its_own_changes_in_order_on_channel_and_stream(settings):
    # Given changes of two customers, interleaved, and a listener on each channel
    client = redis.Redis.from_url(settings.redis_url.reveal())
    listener = client.pubsub(ignore_subscribe_messages=True)
    listener.subscribe("alerts:PA", "alerts:PB")
    wait_until(
        lambda: [n for _, n in client.pubsub_numsub("alerts:PA", "alerts:PB")] == [1, 1],
        5,
        "the subscriptions",
    )
    changes = [
        {"customer_id": customer, "history_id": n, "event": "created"}
        for n, customer in enumerate(["PA", "PB", "PA", "PA", "PB"], start=1)
    ]

    # When they are published together (as the relay does)
    assert publish_changes(client, changes, stream_maxlen=100) == 5

    # Then each channel carried its customer's changes only, in order
    got: dict[str, list[int]] = {"alerts:PA": [], "alerts:PB": []}

    def all_received() -> bool:
        message = listener.get_message(timeout=0.1)
        if message is not None:
            got[message["channel"].decode()].append(json.loads(message["data"])["history_id"])
        return sum(map(len, got.values())) == 5

    wait_until(all_received, 5, "five messages")
    assert got == {"alerts:PA": [1, 3, 4], "alerts:PB": [2, 5]}
    # And each customer's stream holds the same JSON, in the same order
    for customer, expected in (("PA", [1, 3, 4]), ("PB", [2, 5])):
        entries = client.xrange(f"alerts-stream:{customer}")
        assert [json.loads(fields[b"change"])["history_id"] for _, fields in entries] == expected


def test_the_batchs_ledger_row_is_marked_done_with_its_changes(db, settings):
    from tests.servers.ledger.test_ledger import planned, record

    # Given two committed changes and the ledger row of the batch that made them
    put_deliveries(db, 2, customer_id="C7")
    ids = history_ids(db)
    (row,) = record(settings, [planned(0)])
    client = redis.Redis.from_url(settings.redis_url.reveal())
    # When they are published with the row
    with db.begin() as session:
        assert publish_committed(session, client, history_ids=ids, ledger_id=row.ledger_id) == 2
    # Then the row is done, in the same transaction as the marks
    with db() as session:
        done = session.execute(
            text("SELECT outcome FROM batch_ledger WHERE id = :id AND done_at IS NOT NULL"),
            {"id": row.ledger_id},
        ).scalar_one()
    assert done == "done"
