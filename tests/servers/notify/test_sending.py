"""Sending a delivery or digest end to end on the real PostgreSQL and Redis, with the
SendGrid stand-in as the provider: what each answer leaves in the rows, and the outcome
the task turns into Celery's."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shelfops_alerts.notify.outcomes import Digested, Failed, RetryIn, Sent, Skipped
from shelfops_alerts.notify.sending import send_delivery, send_digest
from tests.fakes import FakeSendGridAPI
from tests.support.mail import API_KEY, notifier_for, put_deliveries, row


@pytest.fixture()
def fake():
    with FakeSendGridAPI(api_key=API_KEY) as running:
        yield running


@pytest.fixture()
def mail(db, settings, fake):
    """One pending delivery and a notifier sending alone (no digests) through the fake."""
    (delivery_id,) = put_deliveries(db, 1)
    return notifier_for(settings, db, fake, digest_window_s=0.0), delivery_id


def test_a_delivery_is_sent_once_and_a_second_run_does_nothing(mail, db, fake):
    env, delivery_id = mail
    # When the delivery is sent
    outcome = send_delivery(env, delivery_id)
    # Then the provider got it once, and its row says sent with the provider's id
    assert isinstance(outcome, Sent) and outcome.attempt == 1
    assert len(fake.accepted) == 1
    sent = row(db, "email_deliveries", delivery_id)
    assert (sent.status, sent.attempts, sent.route) == ("sent", 1, "single")
    assert sent.provider_message_id == outcome.provider_message_id
    # And a redelivered message finds it sent and does nothing
    assert isinstance(send_delivery(env, delivery_id), Skipped)
    assert len(fake.requests) == 1


def test_a_provider_fault_is_recorded_and_retried_on_the_backoff(mail, db, fake):
    env, delivery_id = mail
    fake.script([503])
    outcome = send_delivery(env, delivery_id)
    # Then a retry is planned on the first backoff step (30 s, jittered by a quarter)
    assert isinstance(outcome, RetryIn) and 22.5 <= outcome.delay_s <= 37.5
    assert "HTTP 503" in outcome.reason
    retrying = row(db, "email_deliveries", delivery_id)
    assert (retrying.status, retrying.attempts) == ("retrying", 1)
    assert "HTTP 503" in retrying.last_error


def test_a_refused_address_fails_at_once_with_the_providers_reason(mail, db, fake):
    env, delivery_id = mail
    fake.script([(400, {"errors": [{"message": "Does not contain a valid address."}]})])
    outcome = send_delivery(env, delivery_id)
    assert isinstance(outcome, Failed) and "valid address" in outcome.reason
    assert row(db, "email_deliveries", delivery_id).status == "failed"


def test_a_429_pauses_every_sender_until_the_reset(mail, db, fake):
    env, delivery_id = mail
    fake.script([("ratelimit", 20)])
    outcome = send_delivery(env, delivery_id)
    # Then this delivery waits at least the provider's time, and so does everyone else
    assert isinstance(outcome, RetryIn) and outcome.delay_s >= 19
    assert not env.limit.reserve(0.25).granted


def test_the_last_allowed_attempt_fails_for_good(mail, db, fake):
    env, delivery_id = mail
    with db.begin() as session:
        session.execute(text("UPDATE email_deliveries SET attempts = 8"))
    fake.script([500])
    outcome = send_delivery(env, delivery_id)
    assert isinstance(outcome, Failed) and "gave up after 9 attempts" in outcome.reason
    assert row(db, "email_deliveries", delivery_id).status == "failed"


def test_no_rate_slot_soon_gives_the_claim_back_and_comes_back_at_its_turn(db, settings, fake):
    (delivery_id,) = put_deliveries(db, 1)
    env = notifier_for(settings, db, fake, rate=0.5, digest_window_s=0.0)
    env.limit.reserve(0.0)  # someone else took the only slot of the next two seconds
    outcome = send_delivery(env, delivery_id)
    # Then nothing is sent; the task comes back a little after the slot frees up
    assert isinstance(outcome, RetryIn) and 1.5 < outcome.delay_s <= 2.5
    assert fake.requests == []
    # And the claim was given back: still pending, no attempt counted, due then, scheduled
    waiting = row(db, "email_deliveries", delivery_id)
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    assert waiting.scheduled_for is not None
    due_in = (waiting.due_at - waiting.updated_at).total_seconds()
    assert due_in == pytest.approx(outcome.delay_s, abs=0.01)


def test_a_duplicate_message_of_a_sent_delivery_takes_no_rate_slot(db, settings, fake):
    (delivery_id,) = put_deliveries(db, 1)
    env = notifier_for(settings, db, fake, rate=0.5, digest_window_s=0.0)
    assert isinstance(send_delivery(env, delivery_id), Sent)  # took the slot of 2 s
    # When a second message for the same delivery comes (the relay, a redelivery)
    again = send_delivery(env, delivery_id)
    # Then it finds the delivery sent before asking the limiter: done, not re-scheduled
    assert isinstance(again, Skipped)
    assert len(fake.requests) == 1


def test_a_busy_recipient_gets_one_digest_sent_when_its_window_closes(db, settings, fake):
    first, second, third = put_deliveries(db, 3)
    env = notifier_for(settings, db, fake, digest_window_s=60.0)
    # When three deliveries to one recipient are sent in a quiet period
    outcomes = [send_delivery(env, d) for d in (first, second, third)]
    # Then the first goes alone, the next two join one digest, opened by the second
    assert isinstance(outcomes[0], Sent)
    assert isinstance(outcomes[1], Digested) and isinstance(outcomes[2], Digested)
    digest_id = outcomes[1].digest_id
    assert outcomes[2].digest_id == digest_id
    assert outcomes[1].due_in_s is not None and 55 < outcomes[1].due_in_s <= 60
    assert outcomes[2].due_in_s is None  # already scheduled by the one that opened it
    # And a message for the digest that comes early does nothing: its own is scheduled
    assert row(db, "email_digests", digest_id).scheduled_for is not None
    assert isinstance(send_digest(env, digest_id), Skipped)
    # While one for a digest with no message out comes back when the window closes
    with db.begin() as session:
        session.execute(text("UPDATE email_digests SET scheduled_for = NULL"))
    early = send_digest(env, digest_id)
    assert isinstance(early, RetryIn) and 55 < early.delay_s <= 60
    assert row(db, "email_digests", digest_id).scheduled_for is not None
    # When it is due, it is sent once, and its deliveries with it
    with db.begin() as session:
        session.execute(text("UPDATE email_digests SET due_at = now() - interval '1 second'"))
    assert isinstance(send_digest(env, digest_id), Sent)
    assert row(db, "email_digests", digest_id).status == "sent"
    assert [row(db, "email_deliveries", d).status for d in (second, third)] == ["sent", "sent"]
    assert len(fake.accepted) == 2
    assert fake.accepted[1].json["custom_args"]["digest_id"] == str(digest_id)
