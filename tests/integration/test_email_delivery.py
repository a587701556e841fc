"""E-mail through the real pipeline and the real ``sendgrid`` client.

The email worker runs with ``SHELFOPS_EMAIL_BACKEND=sendgrid`` pointed at a local HTTP
server that stands in for SendGrid's v3 ``mail/send`` (checking the bearer key and body);
digests are off, so each alert change is one e-mail (test_email_digests.py has them on).
Each provider answer ends in the right status after the right number of requests, and no
alert change is accepted by the provider twice.
"""

from __future__ import annotations

from sqlalchemy import text

from shelfops_alerts.intake.client import notify_forecast_complete
from tests.integration.conftest import sendgrid_env, wait_idle
from tests.support.data import put_recipients, put_skus, rows
from tests.support.waiting import wait_until

CUSTOMER = "mailco"


def one_critical_sku(db, recipients):
    put_skus(db, CUSTOMER, [("S1", "P1", 2.0, 10.0), ("S1", "P2", 500.0, 10.0)])
    put_recipients(db, CUSTOMER, recipients)


def test_a_critical_alert_is_sent_once_per_recipient_through_sendgrid(sendgrid_pipeline, settings):
    db, fake = sendgrid_pipeline
    one_critical_sku(db, {"ops@mailco.example": "critical", "buyer@mailco.example": "high"})

    notify_forecast_complete(CUSTOMER, settings=settings)
    fake.wait_for_requests(2, timeout_s=20)
    wait_idle(settings)

    # Then the API got one well-formed request per recipient, carrying the ids
    assert sorted(r.json["personalizations"][0]["to"][0]["email"] for r in fake.requests) == [
        "buyer@mailco.example",
        "ops@mailco.example",
    ]
    (alert_id,) = [r.id for r in rows(db, "SELECT id FROM alerts")]
    deliveries = rows(
        db, "SELECT id, status, attempts, provider_message_id FROM email_deliveries ORDER BY id"
    )
    assert [(d.status, d.attempts) for d in deliveries] == [("sent", 1), ("sent", 1)]
    assert all(d.provider_message_id for d in deliveries)
    assert {r.json["custom_args"]["delivery_id"] for r in fake.requests} == {
        str(d.id) for d in deliveries
    }
    assert {r.json["custom_args"]["alert_id"] for r in fake.requests} == {str(alert_id)}
    assert "[CRITICAL]" in fake.requests[0].json["subject"]


def test_provider_faults_are_retried_until_the_mail_goes_through(sendgrid_pipeline, settings):
    db, fake = sendgrid_pipeline
    one_critical_sku(db, {"ops@mailco.example": "critical"})
    # Given SendGrid fails twice with a 500 and then drops the connection once
    fake.script([500, 503, "drop"])

    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_until(
        lambda: rows(db, "SELECT 1 FROM email_deliveries WHERE status = 'sent'"),
        30,
        "the delivery to be sent",
    )
    wait_idle(settings)

    # Then the fourth attempt succeeded, every attempt is counted, and nothing went twice
    (delivery,) = rows(db, "SELECT status, attempts, last_error FROM email_deliveries")
    assert (delivery.status, delivery.attempts) == ("sent", 4)
    answered = [r for r in fake.requests if r.answered == 202]
    assert len(fake.requests) == 4
    assert len(answered) == 1


def test_a_bad_address_fails_permanently_without_retrying(sendgrid_pipeline, settings, worker_logs):
    db, fake = sendgrid_pipeline
    one_critical_sku(db, {"ops@mailco.example": "critical"})
    fake.script([(400, {"errors": [{"message": "Does not contain a valid address."}]})])

    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_until(
        lambda: rows(db, "SELECT 1 FROM email_deliveries WHERE status = 'failed'"),
        20,
        "the delivery to fail",
    )
    wait_idle(settings)

    (delivery,) = rows(db, "SELECT status, attempts, last_error FROM email_deliveries")
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "valid address" in delivery.last_error
    assert len(fake.requests) == 1
    # And the task failed with the provider's reason (what Flower shows for it)
    log = (worker_logs / "email.log").read_text()
    assert "DeliveryFailed" in log and "Does not contain a valid address" in log


def test_a_run_of_500s_fails_after_the_last_retry(sendgrid_pipeline, settings):
    db, fake = sendgrid_pipeline
    one_critical_sku(db, {"ops@mailco.example": "critical"})
    # Given SendGrid answers 500 to every attempt the policy allows (1 + 4 retries in tests)
    fake.script([500] * 5)

    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_until(
        lambda: rows(db, "SELECT 1 FROM email_deliveries WHERE status = 'failed'"),
        30,
        "the delivery to fail",
    )
    wait_idle(settings)

    # Then it was tried exactly five times, then failed with the reason, and nothing was sent
    (delivery,) = rows(db, "SELECT status, attempts, last_error FROM email_deliveries")
    assert (delivery.status, delivery.attempts) == ("failed", 5)
    assert "gave up after 5 attempts" in delivery.last_error and "HTTP 500" in delivery.last_error
    assert [r.answered for r in fake.requests] == [500] * 5
    assert fake.accepted == []


def test_a_429_is_retried_after_the_providers_reset_time(sendgrid_pipeline, settings):
    db, fake = sendgrid_pipeline
    one_critical_sku(db, {"ops@mailco.example": "critical"})
    # Given SendGrid answers 429 with X-RateLimit-Reset two seconds ahead, then 202
    fake.script([("ratelimit", 2)])

    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_until(
        lambda: rows(db, "SELECT 1 FROM email_deliveries WHERE status = 'sent'"),
        30,
        "the delivery to be sent",
    )
    wait_idle(settings)

    # Then the second attempt came no sooner than the reset (not after the 0.2 s backoff)
    first, second = fake.requests
    assert (first.answered, second.answered) == (429, 202)
    assert second.received_at - first.received_at >= 1.9
    (delivery,) = rows(db, "SELECT status, attempts, last_error FROM email_deliveries")
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert "HTTP 429" in delivery.last_error


def test_a_delivery_too_old_for_another_attempt_fails_instead_of_retrying(
    sendgrid_pipeline, settings, email_workers
):
    db, fake = sendgrid_pipeline
    one_critical_sku(db, {"ops@mailco.example": "critical"})
    # Given the delivery waited in the queue (no email worker) until it is two days old
    email_workers.stop()
    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_until(lambda: rows(db, "SELECT 1 FROM email_deliveries"), 20, "the delivery")
    with db.begin() as session:
        session.execute(text("UPDATE email_deliveries SET queued_at = now() - interval '2 days'"))
    fake.script([503])

    # When an email worker takes it and SendGrid has a transient fault
    email_workers.use(**sendgrid_env(fake))
    wait_until(
        lambda: rows(db, "SELECT 1 FROM email_deliveries WHERE status = 'failed'"),
        20,
        "the delivery to fail",
    )
    wait_idle(settings)

    # Then it is failed as too old after that one attempt, not retried
    (delivery,) = rows(db, "SELECT status, attempts, last_error FROM email_deliveries")
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "older than 86400 s" in delivery.last_error
    assert len(fake.requests) == 1
