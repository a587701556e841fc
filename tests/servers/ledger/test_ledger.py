"""The batch ledger's statements and the relay's decision, on real PostgreSQL and Redis.

A row is re-queued only when none of its chain's task ids is queued or unacknowledged; a
done one never; a lost one once per grace, and at most SHELFOPS_BATCH_REQUEUE_LIMIT times.
"""

from __future__ import annotations

import base64
import json
import uuid

import redis
from kombu import Connection
from sqlalchemy import Engine, event

from shelfops_alerts.db import get_engine, session_factory
from shelfops_alerts.intake.direct import chain_task_ids, direct_check
from shelfops_alerts.intake.events import forecast_complete
from shelfops_alerts.ledger import store
from shelfops_alerts.ledger.direct import record_direct_chain
from shelfops_alerts.ledger.inflight import task_ids_in_flight
from shelfops_alerts.ledger.relay import lost_batches
from shelfops_alerts.retention.prune import prune
from shelfops_alerts.skus import Sku
from tests.servers.retention.test_prune_tables import POLICY
from tests.support.data import put_skus, rows, today

SKUS = [Sku("S1", f"P{n}") for n in range(5)]


def planned(n: int, *, context: dict | None = None) -> store.Batch:
    return store.Batch(
        customer_id="acme",
        skus=tuple(SKUS[n : n + 1]),
        context=context,
        only_types=None,
        task_ids=(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())),
    )


def body(message: dict) -> list:
    """A task message's body: ``[args, kwargs, embed]`` (embed names the chain's next steps)."""
    return json.loads(base64.b64decode(message["body"]))


def record(settings, batches: list[store.Batch]) -> list[store.Batch]:
    with session_factory(settings).begin() as session:
        return store.record(session, batches)


def age(db, seconds: float) -> None:
    with db.begin() as session:
        session.execute(
            store.text(
                "UPDATE batch_ledger SET queued_at = queued_at - make_interval(secs => :s),"
                " requeued_at = requeued_at - make_interval(secs => :s)"
            ),
            {"s": seconds},
        )


def relay(settings, *, limit: int = 3):
    return lost_batches(
        session_factory(settings),
        redis.Redis.from_url(settings.redis_url.reveal()),
        queue="alerts",
        grace_s=60,
        requeue_limit=limit,
        limit=100,
    )


def test_a_page_of_batches_is_one_insert_and_each_chain_carries_its_row(tasks_app, db, settings):
    from workers.tasks.batches import chunks, queue_batch_checks

    put_skus(db, "acme", [(s, p, 500.0, 10.0) for s, p in SKUS])
    inserts: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "INSERT INTO batch_ledger" in statement:
            inserts.append(statement)

    # When an event's five SKUs are queued in batches of two (three chains)
    event.listen(Engine, "before_cursor_execute", seen)
    try:
        queued = queue_batch_checks("acme", chunks(tuple(SKUS), 2))
    finally:
        event.remove(Engine, "before_cursor_execute", seen)

    # Then one INSERT wrote the three rows, before three check messages went out
    assert queued == 3
    assert len(inserts) == 1
    ledger = rows(db, "SELECT id, skus, task_ids, done_at FROM batch_ledger ORDER BY id")
    assert [len(row.skus) for row in ledger] == [2, 2, 1]
    assert all(row.done_at is None for row in ledger)
    client = redis.Redis.from_url(settings.redis_url.reveal())
    messages = [json.loads(m) for m in client.lrange("alerts", 0, -1)]
    assert sorted(m["headers"]["id"] for m in messages) == sorted(r.task_ids[0] for r in ledger)
    # And each check message names its row, and the broker shows every chain in flight
    for message in messages:
        kwargs = body(message)[1]
        row = next(r for r in ledger if r.task_ids[0] == message["headers"]["id"])
        assert kwargs["context"] == {"ledger": row.id}
    assert {r.task_ids[0] for r in ledger} <= task_ids_in_flight(client, "alerts")


def test_the_relay_requeues_only_a_chain_the_broker_lost_under_its_own_ids(tasks_app, db, settings):
    from workers.tasks.batches import chunks, queue_batch_checks
    from workers.tasks.relay import relay_outbox

    put_skus(db, "acme", [(s, p, 500.0, 10.0) for s, p in SKUS])
    client = redis.Redis.from_url(settings.redis_url.reveal())
    queue_batch_checks("acme", chunks(tuple(SKUS[:3]), 1))
    # (a consumer takes the oldest message first: the first chain's)
    taken, waiting, lost = rows(db, "SELECT id, task_ids FROM batch_ledger ORDER BY id")
    # Given one chain still queued, one taken by a worker (unacknowledged), and one whose
    # message was popped by a worker that died before recording it (gone from both)
    by_id = {json.loads(m)["headers"]["id"]: m for m in client.lrange("alerts", 0, -1)}
    assert client.lrem("alerts", 1, by_id[lost.task_ids[0]]) == 1
    with Connection(settings.redis_url.reveal()) as connection:
        channel = connection.default_channel
        message = channel.basic_get("alerts", no_ack=False)
        assert message is not None and message.headers["id"] == taken.task_ids[0]
        # And all three rows older than the grace (SHELFOPS_BATCH_LOST_AFTER_S)
        age(db, settings.batch_lost_after_s + 1)

        # When the relay runs
        result = relay_outbox.apply().get()

        # Then only the lost chain is queued again, under its own task ids and row
        assert result["batches_requeued"] == 1
        again = [json.loads(m) for m in client.lrange("alerts", 0, -1)]
        assert sorted(m["headers"]["id"] for m in again) == sorted(
            [waiting.task_ids[0], lost.task_ids[0]]
        )
        requeued = next(m for m in again if m["headers"]["id"] == lost.task_ids[0])
        _, kwargs, embed = body(requeued)
        assert kwargs["context"] == {"ledger": lost.id}
        assert [step["options"]["task_id"] for step in embed["chain"]][::-1] == list(
            lost.task_ids[1:]
        )
        ledger = {r.id: r for r in rows(db, "SELECT id, requeues, done_at FROM batch_ledger")}
        assert {i: r.requeues for i, r in ledger.items()} == {
            waiting.id: 0,
            taken.id: 0,
            lost.id: 1,
        }
        # And a second run at once re-queues nothing (the lost chain has its grace again)
        assert relay(settings).requeue == []
        message.ack()


def test_a_done_row_is_never_requeued_and_a_lost_one_only_up_to_the_limit(db, settings):
    # Given a done row, a lost one, and a dead letter's, all old
    done, lost, parked = record(settings, [planned(0), planned(1), planned(2)])
    with db.begin() as session:
        store.mark_done(session, ledger_id=done.ledger_id)
        session.execute(
            store.text(
                "INSERT INTO dead_letters (task_name, task_id, args, kwargs, options, reason,"
                " deliveries, first_seen_at) VALUES ('shelfops.dedup_and_persist', :t, '[]',"
                " '{}', '{}', 'killed its worker', 4, now())"
            ),
            {"t": parked.task_ids[1]},
        )
    decisions = []
    for _ in range(5):
        age(db, 120)
        # When the relay looks again and again (nothing ever runs the lost chain)
        decided = relay(settings, limit=3)
        decisions.append(([b.ledger_id for b in decided.requeue], len(decided.gave_up)))
    # Then the lost row is queued again three times, then given up; the done one never
    assert decisions == [
        ([lost.ledger_id], 0),
        ([lost.ledger_id], 0),
        ([lost.ledger_id], 0),
        ([], 1),
        ([], 0),
    ]
    outcome = {r.id: r for r in rows(db, "SELECT id, outcome, requeues FROM batch_ledger")}
    assert (outcome[done.ledger_id].outcome, outcome[done.ledger_id].requeues) == ("done", 0)
    assert (outcome[lost.ledger_id].outcome, outcome[lost.ledger_id].requeues) == ("gave_up", 3)
    # And the dead letter's row is closed as parked, never queued again
    assert (outcome[parked.ledger_id].outcome, outcome[parked.ledger_id].requeues) == (
        "parked",
        0,
    )
    with db() as session:
        assert store.unfinished(session) == 0


def test_a_young_row_waits_and_marking_done_twice_changes_nothing(db, settings):
    (young,) = record(settings, [planned(0, context={"sweep_id": 1, "batch": 0})])
    # Given a row queued a moment ago whose messages are nowhere: it is not overdue yet
    assert relay(settings).requeue == []
    # When its publish marks it done twice (a redelivered publish)
    for _ in range(2):
        with db.begin() as session:
            store.mark_done(session, ledger_id=young.ledger_id)
    (row,) = rows(db, "SELECT context, done_at, outcome FROM batch_ledger")
    assert row.outcome == "done" and row.done_at is not None
    assert row.context == {"sweep_id": 1, "batch": 0}


def test_the_prune_deletes_done_rows_after_a_day_and_never_an_unfinished_one(db, settings):
    old_done, new_done, old_open = record(settings, [planned(0), planned(1), planned(2)])
    with db.begin() as session:
        store.mark_done(session, ledger_id=old_done.ledger_id)
        store.mark_done(session, ledger_id=new_done.ledger_id)
        session.execute(
            store.text(
                "UPDATE batch_ledger SET done_at = done_at - interval '25 hours',"
                " queued_at = queued_at - interval '25 hours' WHERE id = ANY(:ids)"
            ),
            {"ids": [old_done.ledger_id, old_open.ledger_id]},
        )
    report = prune(get_engine(settings), POLICY, today=today())
    assert report.deleted.get("batch_ledger") == 1
    left = {r.id for r in rows(db, "SELECT id FROM batch_ledger")}
    assert left == {new_done.ledger_id, old_open.ledger_id}


def test_a_producers_direct_chain_gets_its_row_from_its_check_and_a_lone_check_none(db, settings):
    # Given the check chain a producer queues for a one-SKU event
    event = forecast_complete("acme", "run-7", ["S1/P0"])
    direct = direct_check(event, batch_size=5000)
    assert direct is not None
    persist_id, publish_id = chain_task_ids(direct.chain) or ("", "")

    # When its check records it, and a check sent alone (no chain) asks the same
    with session_factory(settings).begin() as session:
        ledger_id = record_direct_chain(
            session,
            check_id=direct.task_id,
            chain=direct.chain,
            customer_id="acme",
            skus=[SKUS[0]],
            context={"run_id": "run-7"},
            only_types=None,
        )
        alone = record_direct_chain(
            session,
            check_id=str(uuid.uuid4()),
            chain=None,
            customer_id="acme",
            skus=[SKUS[0]],
            context=None,
            only_types=None,
        )

    # Then the chain has one row naming its three task ids, its SKU and context
    assert ledger_id is not None and alone is None
    with db.begin() as session:
        rows_now = session.execute(
            store.text("SELECT id, skus, context, task_ids FROM batch_ledger")
        ).all()
    assert [(r.id, r.skus, r.context, r.task_ids) for r in rows_now] == [
        (ledger_id, [["S1", "P0"]], {"run_id": "run-7"}, [direct.task_id, persist_id, publish_id])
    ]
