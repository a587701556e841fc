"""What the relay re-queues, leaves alone, and fails (real PostgreSQL).

Settings of the test stack: SHELFOPS_OUTBOX_RELAY_AFTER_S 60, SHELFOPS_VISIBILITY_TIMEOUT_S
3600, SHELFOPS_EMAIL_MAX_RETRIES 8 (nine attempts), SHELFOPS_EMAIL_MAX_AGE_S one day.
"""

from __future__ import annotations

from sqlalchemy import text

from shelfops_alerts.notify.relay import deliveries_queued, overdue_mail
from tests.support.mail import put_deliveries, row


def set_rows(db, sql: str, **params) -> None:
    with db.begin() as session:
        session.execute(text(sql), params)


def relay(db, settings):
    return overdue_mail(db, settings, backlog=0, limit=100)


def test_deliveries_waiting_their_turn_are_not_queued_again(db, settings):
    # Given a backlog: 50 deliveries queued (scheduled) ten minutes ago, still waiting
    ids = put_deliveries(db, 50)
    deliveries_queued(db, settings, ids, backlog=0)
    set_rows(
        db,
        "UPDATE email_deliveries SET created_at = now() - interval '10 minutes',"
        " updated_at = now() - interval '10 minutes', due_at = now() - interval '10 minutes',"
        " scheduled_for = now() - interval '10 minutes'",
    )
    # Then the relay leaves them to their messages, run after run
    assert relay(db, settings).delivery_ids == []
    assert relay(db, settings).delivery_ids == []


def test_a_delivery_never_queued_is_queued_once_after_the_relay_delay(db, settings):
    # Given two pending deliveries whose message was never queued (a crash after commit)
    old, new = put_deliveries(db, 2)
    set_rows(
        db,
        "UPDATE email_deliveries SET updated_at = now() - interval '2 minutes',"
        " due_at = now() - interval '2 minutes' WHERE id = :i",
        i=old,
    )
    # Then the relay queues the one older than SHELFOPS_OUTBOX_RELAY_AFTER_S, once
    assert relay(db, settings).delivery_ids == [old]
    assert row(db, "email_deliveries", old).scheduled_for is not None
    assert relay(db, settings).delivery_ids == []
    assert row(db, "email_deliveries", new).scheduled_for is None


def test_a_retry_whose_message_redis_lost_is_queued_again_once_overdue(db, settings):
    lost, waiting = put_deliveries(db, 2)
    # Given two retrying deliveries whose retry was handed to the broker two hours ago and
    # is long due; one of them was handed over again a minute ago
    set_rows(
        db,
        "UPDATE email_deliveries SET status = 'retrying', attempts = 1,"
        " updated_at = now() - interval '2 hours', due_at = now() - interval '2 hours',"
        " scheduled_for = now() - interval '2 hours'",
    )
    set_rows(
        db,
        "UPDATE email_deliveries SET scheduled_for = now() - interval '1 minute' WHERE id = :i",
        i=waiting,
    )
    # Then only the one whose message is older than the visibility timeout is queued again
    assert relay(db, settings).delivery_ids == [lost]
    assert row(db, "email_deliveries", lost).status == "retrying"


def test_a_delivery_left_sending_is_queued_again_or_failed_when_that_was_its_last_attempt(
    db, settings
):
    stuck, spent = put_deliveries(db, 2)
    # Given two deliveries left sending two minutes ago by a worker that died; the second
    # was on its ninth and last attempt
    set_rows(
        db,
        "UPDATE email_deliveries SET status = 'sending', attempts = 2, route = 'single',"
        " updated_at = now() - interval '2 minutes'",
    )
    set_rows(db, "UPDATE email_deliveries SET attempts = 9 WHERE id = :i", i=spent)

    found = relay(db, settings)

    # Then the first goes back to retrying, due now, and is queued
    assert found.delivery_ids == [stuck] and found.failed == 1
    back = row(db, "email_deliveries", stuck)
    assert (back.status, back.attempts) == ("retrying", 2)
    assert "never finished" in back.last_error
    # And the second is failed with the reason, never to be queued again
    failed = row(db, "email_deliveries", spent)
    assert failed.status == "failed"
    assert failed.last_error == "gave up after 9 attempts: the last never finished"
    assert relay(db, settings).delivery_ids == []


def test_a_digest_left_sending_on_its_last_attempt_fails_with_its_deliveries(db, settings):
    first, second = put_deliveries(db, 2)
    with db.begin() as session:
        digest_id = session.execute(
            text(
                "INSERT INTO email_digests (customer_id, recipient, status, due_at, attempts,"
                " updated_at) VALUES ('C1', 'ops@c1.example', 'sending', now(), 9,"
                " now() - interval '2 minutes') RETURNING id"
            )
        ).scalar_one()
        session.execute(
            text(
                "UPDATE email_deliveries SET status = 'digest_pending', route = 'digest',"
                " digest_id = :d"
            ),
            {"d": digest_id},
        )

    found = relay(db, settings)

    assert found.digest_ids == [] and found.failed == 1
    assert row(db, "email_digests", digest_id).status == "failed"
    assert {row(db, "email_deliveries", d).status for d in (first, second)} == {"failed"}


def test_a_message_behind_a_backlog_is_late_not_lost(db, settings):
    # Given two deliveries queued 70 minutes ago (beyond the one-hour visibility timeout):
    # one into an empty queue, one behind 100,000 messages (almost 3 hours at 10/s)
    alone, behind = put_deliveries(db, 2)
    deliveries_queued(db, settings, [alone], backlog=0)
    deliveries_queued(db, settings, [behind], backlog=100_000)
    set_rows(
        db,
        "UPDATE email_deliveries SET updated_at = now() - interval '70 minutes',"
        " due_at = now() - interval '70 minutes',"
        " scheduled_for = scheduled_for - interval '70 minutes'",
    )
    # Then only the first one's message is presumed lost; the other is late, not lost
    assert relay(db, settings).delivery_ids == [alone]
