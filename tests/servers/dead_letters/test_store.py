"""Dead letters on the real PostgreSQL and Redis: counted starts, parked messages, replays."""

from __future__ import annotations

import time

import pytest
import redis

from shelfops_alerts.dead_letters import redeliveries
from shelfops_alerts.dead_letters.requeue import sender
from shelfops_alerts.dead_letters.store import (
    DeadLetterError,
    Message,
    count_parked,
    discard,
    get_dead_letter,
    list_dead_letters,
    park,
    replay,
)
from tests.support.broker import queued

#: A check chain's message as a worker holds it: the tasks after it, and a sweep's errback.
CHECK = Message(
    task_name="shelfops.check_stockout_risk",
    task_id="check-1",
    args=["acme", ["S1/P1", "S1/P2"]],
    kwargs={"context": {"sweep_id": 7, "batch": 3}, "only_types": None},
    queue="alerts",
    options={
        "chain": [
            {"task": "shelfops.publish_alerts", "args": [], "kwargs": {}, "options": {}},
            {"task": "shelfops.dedup_and_persist", "args": [], "kwargs": {}, "options": {}},
        ],
        "link_error": [
            {"task": "shelfops.sweep_batch_failed", "args": [], "kwargs": {}, "options": {}}
        ],
    },
)


def park_check(db, message: Message = CHECK, deliveries: int = 4) -> int:
    with db.begin() as session:
        return park(
            session,
            message=message,
            reason="started 3 times without finishing (its worker died each time)",
            deliveries=deliveries,
            first_seen=time.time() - 60,
        )


def replay_as(db, settings, dead_letter_id: int, by: str) -> str:
    with db.begin() as session:
        return replay(session, dead_letter_id=dead_letter_id, by=by, send=sender(settings))


def test_starts_are_counted_per_message_until_it_ends(db, settings):
    client = redis.Redis.from_url(settings.redis_url.reveal())
    # Given a message started three times without ending (its worker died each time)
    starts = [redeliveries.count_start(client, "t-1") for _ in range(3)]
    # Then each start counts, and the first one's time is kept
    assert [s.starts for s in starts] == [1, 2, 3]
    assert len({s.first_seen for s in starts}) == 1
    # And another message has its own count
    assert redeliveries.count_start(client, "t-2").starts == 1
    # And the counters expire on their own
    assert 0 < client.ttl(redeliveries.KEY.format("t-1")) <= redeliveries.COUNT_TTL_S
    # When the task ends (success, failure or retry), its count starts again
    redeliveries.forget(client, "t-1")
    assert redeliveries.count_start(client, "t-1").starts == 1


def test_a_redelivery_counts_its_uncounted_first_delivery_as_a_start_that_never_ended(db, settings):
    client = redis.Redis.from_url(settings.redis_url.reveal())
    # Given a message whose first delivery (never counted) killed its worker, then its
    # first redelivery did too
    first, second = (redeliveries.count_redelivery(client, "t-3") for _ in range(2))
    # Then the redeliveries count two and three starts that never ended
    assert (first.starts, second.starts) == (2, 3)
    assert first.first_seen == second.first_seen
    # When a redelivery ends, the next one counts from its first delivery again
    redeliveries.forget(client, "t-3")
    assert redeliveries.count_redelivery(client, "t-3").starts == 2


def test_a_message_parked_twice_is_one_dead_letter(db):
    # Given a check parked, then delivered and parked again (a duplicate delivery)
    first = park_check(db, deliveries=4)
    again = park_check(db, deliveries=5)

    # Then there is one dead letter, with the latest count of deliveries
    assert again == first
    with db() as session:
        assert count_parked(session) == 1
        found = get_dead_letter(session, dead_letter_id=first)
    assert found is not None
    assert (found["task_name"], found["task_id"], found["status"]) == (
        "shelfops.check_stockout_risk",
        "check-1",
        "parked",
    )
    assert (found["args"], found["kwargs"], found["options"]) == (
        CHECK.args,
        CHECK.kwargs,
        CHECK.options,
    )
    assert found["deliveries"] == 5
    assert found["first_seen_at"] < found["last_seen_at"]


def test_replay_queues_the_original_message_under_a_fresh_id_once(db, settings):
    # Given a parked check of a sweep's batch
    dead_letter_id = park_check(db)

    # When an operator replays it
    task_id = replay_as(db, settings, dead_letter_id, "ana")

    # Then the same message waits on its queue under the fresh task id, followed by the
    # same tasks and error callback, so the batch is persisted, published and counted
    [message] = queued(settings.redis_url.reveal(), "alerts")
    assert (message.task, message.task_id) == (CHECK.task_name, task_id)
    assert task_id != CHECK.task_id
    assert (message.args, message.kwargs) == (CHECK.args, CHECK.kwargs)
    assert [s["task"] for s in message.embed["chain"]] == [
        "shelfops.publish_alerts",
        "shelfops.dedup_and_persist",
    ]
    assert [s["task"] for s in message.embed["errbacks"]] == ["shelfops.sweep_batch_failed"]
    # And the dead letter says who replayed it, when, and as which task; none is parked
    with db() as session:
        found = get_dead_letter(session, dead_letter_id=dead_letter_id)
        assert count_parked(session) == 0
        assert list_dead_letters(session) == []
        assert [d["id"] for d in list_dead_letters(session, status=None)] == [dead_letter_id]
    assert found is not None
    assert (found["status"], found["replayed_by"], found["replay_task_id"]) == (
        "replayed",
        "ana",
        task_id,
    )
    assert found["replayed_at"] is not None

    # And replaying it again is refused, queueing nothing
    with pytest.raises(DeadLetterError, match="already replayed .* by ana"):
        replay_as(db, settings, dead_letter_id, "bo")
    assert len(queued(settings.redis_url.reveal(), "alerts")) == 1


def test_a_message_that_did_not_say_its_queue_is_replayed_where_workers_route_it(db, settings):
    # Given a parked e-mail delivery whose message named no queue
    email = Message(task_name="shelfops.send_alert_email", task_id="mail-1", args=[42])
    dead_letter_id = park_check(db, email)
    # When it is replayed
    replay_as(db, settings, dead_letter_id, "ana")
    # Then it waits on the email queue, as the workers' routes would have put it
    assert [m.args for m in queued(settings.redis_url.reveal(), "email")] == [[42]]
    assert queued(settings.redis_url.reveal(), "alerts") == []


def test_a_discarded_message_is_kept_with_who_and_why_and_cannot_be_replayed(db, settings):
    dead_letter_id = park_check(db)
    # A discard needs a reason
    with pytest.raises(DeadLetterError, match="reason"), db.begin() as session:
        discard(session, dead_letter_id=dead_letter_id, by="ana", reason=" ")
    # When it is discarded with one
    with db.begin() as session:
        discard(session, dead_letter_id=dead_letter_id, by="ana", reason="customer deleted")
    # Then it is no longer parked, and says who discarded it and why
    with db() as session:
        assert count_parked(session) == 0
        found = get_dead_letter(session, dead_letter_id=dead_letter_id)
    assert found is not None
    assert (found["status"], found["discarded_by"], found["discard_reason"]) == (
        "discarded",
        "ana",
        "customer deleted",
    )
    # And it cannot be replayed any more
    with pytest.raises(DeadLetterError, match="discarded .* by ana: customer deleted"):
        replay_as(db, settings, dead_letter_id, "bo")
    assert queued(settings.redis_url.reveal(), "alerts") == []


def test_an_unknown_dead_letter_is_refused(db, settings):
    with pytest.raises(DeadLetterError, match="no dead letter 99"):
        replay_as(db, settings, 99, "ana")


def test_the_metrics_count_parked_dead_letters_until_an_operator_acts(db, settings):
    from shelfops_alerts.metrics import collect_figures

    # Given two parked messages
    first = park_check(db)
    park_check(db, Message(**{**CHECK.__dict__, "task_id": "check-2"}))

    # Then a scrape counts both, and one fewer once one is discarded
    assert collect_figures(settings).value("shelfops_dead_letters") == 2
    with db.begin() as session:
        discard(session, dead_letter_id=first, by="ana", reason="the SKU was deleted")
    assert collect_figures(settings).value("shelfops_dead_letters") == 1
