"""Every failure of an attempt goes through the retry plan; no row is left ``sending``.

Real PostgreSQL and Redis; the faults are real too: a file backend that cannot write, a
database that refuses to record ``sent``, a provider asking to wait forever.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shelfops_alerts.notify.email import FileBackend
from shelfops_alerts.notify.outcomes import Deferred, Digested, RetryIn
from shelfops_alerts.notify.relay import due_digest_ids
from shelfops_alerts.notify.sending import send_delivery
from tests.fakes import FakeSendGridAPI
from tests.support.mail import API_KEY, notifier_for, put_deliveries, row


@pytest.fixture()
def fake():
    with FakeSendGridAPI(api_key=API_KEY) as running:
        yield running


def test_a_file_backend_that_cannot_write_is_retried_not_left_sending(db, settings, fake, tmp_path):
    (delivery_id,) = put_deliveries(db, 1)
    env = notifier_for(settings, db, fake, digest_window_s=0.0)
    # Given the outbox "folder" is a file: every write fails with an OSError
    blocked = tmp_path / "outbox"
    blocked.write_text("not a folder")
    env.backend = FileBackend(blocked)

    outcome = send_delivery(env, delivery_id)

    # Then the attempt is planned again like a provider fault, with the error recorded
    assert isinstance(outcome, RetryIn) and outcome.delay_s > 0
    waiting = row(db, "email_deliveries", delivery_id)
    assert (waiting.status, waiting.attempts) == ("retrying", 1)
    assert "Error" in waiting.last_error  # FileExistsError / NotADirectoryError: ...
    assert waiting.due_at > waiting.updated_at


@pytest.fixture()
def refuse_sent(db):
    """A database that refuses to record ``sent`` (a trigger raising, as a failing disk
    or a lost connection would), and accepts every other update."""
    with db.begin() as session:
        session.execute(
            text(
                """
                CREATE OR REPLACE FUNCTION refuse_sent() RETURNS trigger AS $$
                BEGIN
                  IF NEW.status = 'sent' THEN RAISE EXCEPTION 'disk full (test)'; END IF;
                  RETURN NEW;
                END $$ LANGUAGE plpgsql;
                CREATE TRIGGER refuse_sent BEFORE UPDATE ON email_deliveries
                FOR EACH ROW EXECUTE FUNCTION refuse_sent();
                """
            )
        )
    yield
    with db.begin() as session:
        session.execute(text("DROP TRIGGER refuse_sent ON email_deliveries"))


def test_a_database_error_while_recording_sent_goes_through_the_retry_plan(
    db, settings, fake, refuse_sent
):
    (delivery_id,) = put_deliveries(db, 1)
    env = notifier_for(settings, db, fake, digest_window_s=0.0)

    outcome = send_delivery(env, delivery_id)

    # Then the provider accepted it, but as it could not be recorded the attempt counts as
    # failed: retried (at least once, never lost), with the database's reason
    assert len(fake.accepted) == 1
    assert isinstance(outcome, RetryIn) and "disk full (test)" in outcome.reason
    waiting = row(db, "email_deliveries", delivery_id)
    assert (waiting.status, waiting.attempts) == ("retrying", 1)
    assert "disk full (test)" in waiting.last_error


def test_a_provider_asking_to_wait_forever_is_held_to_the_maximum_pause(db, settings, fake):
    (delivery_id,) = put_deliveries(db, 1)
    env = notifier_for(settings, db, fake, digest_window_s=0.0, email_max_pause_s=30.0)
    fake.script([(429, {"Retry-After": "inf"})])

    outcome = send_delivery(env, delivery_id)

    # Then this delivery waits the maximum pause, and so does every sender: no longer
    assert isinstance(outcome, RetryIn) and outcome.delay_s == 30.0
    refused = env.limit.reserve(0.25)
    assert not refused.granted and 25 < refused.wait_s <= 30
    assert row(db, "email_deliveries", delivery_id).status == "retrying"


def test_a_wait_longer_than_the_broker_can_hold_is_left_to_the_relay(db, settings, fake):
    (delivery_id,) = put_deliveries(db, 1)
    # Given a 10 s visibility timeout (at most 5 s countdowns), and every sender paused 60 s
    env = notifier_for(
        settings, db, fake, digest_window_s=0.0, visibility_timeout_s=10, email_max_pause_s=5.0
    )
    env.limit.pause(60)

    outcome = send_delivery(env, delivery_id)

    # Then no countdown is handed over: the row keeps its due time, with no message out
    assert isinstance(outcome, Deferred) and outcome.delay_s >= 59
    waiting = row(db, "email_deliveries", delivery_id)
    assert (waiting.status, waiting.attempts, waiting.scheduled_for) == ("pending", 0, None)
    assert (waiting.due_at - waiting.updated_at).total_seconds() >= 59


def test_a_digest_window_longer_than_the_broker_can_hold_is_sent_by_the_flush(db, settings, fake):
    first, second = put_deliveries(db, 2)
    env = notifier_for(
        settings, db, fake, digest_window_s=60.0, visibility_timeout_s=10, email_max_pause_s=5.0
    )
    send_delivery(env, first)

    # When a change opens a digest due in a minute
    opened = send_delivery(env, second)

    # Then the task is not asked to schedule it (its countdown would outlive the visibility
    # timeout), and the flush finds it only once it is due
    assert isinstance(opened, Digested) and opened.due_in_s is None
    assert row(db, "email_digests", opened.digest_id).scheduled_for is None
    assert due_digest_ids(db, env.settings, backlog=0, limit=10) == []
    with db.begin() as session:
        session.execute(text("UPDATE email_digests SET due_at = now() - interval '1 second'"))
    assert due_digest_ids(db, env.settings, backlog=0, limit=10) == [opened.digest_id]
    # And once queued by the flush it is not queued again while its message is out
    assert due_digest_ids(db, env.settings, backlog=0, limit=10) == []
