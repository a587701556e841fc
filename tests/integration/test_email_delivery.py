"""E-mail through the real pipeline and the real ``sendgrid`` client.

The email worker runs with ``SHELFOPS_EMAIL_BACKEND=sendgrid`` pointed at a local HTTP
server that stands in for SendGrid's v3 ``mail/send`` (checking the bearer key and body).
"""

from __future__ import annotations

import pytest

from shelfops_alerts.client import notify_forecast_complete
from tests.fakes import FakeSendGridAPI
from tests.integration.conftest import wait_idle, wait_until
from tests.integration.data import put_recipients, put_skus, rows

pytestmark = pytest.mark.integration

API_KEY = "SG.integration-test-key"
CUSTOMER = "mailco"


@pytest.fixture()
def sendgrid(pipeline, email_workers):
    with FakeSendGridAPI(api_key=API_KEY) as fake:
        email_workers.use(
            SHELFOPS_EMAIL_BACKEND="sendgrid",
            SENDGRID_API_KEY=API_KEY,
            SHELFOPS_SENDGRID_HOST=fake.url,
        )
        yield pipeline, fake
    email_workers.use()


def one_critical_sku(db, recipients):
    put_skus(db, CUSTOMER, [("S1", "P1", 2.0, 10.0), ("S1", "P2", 500.0, 10.0)])
    put_recipients(db, CUSTOMER, recipients)


def test_a_critical_alert_is_sent_once_per_recipient_through_sendgrid(sendgrid, settings):
    db, fake = sendgrid
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


def test_provider_faults_are_retried_until_the_mail_goes_through(sendgrid, settings):
    db, fake = sendgrid
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


def test_a_bad_address_fails_permanently_without_retrying(sendgrid, settings):
    db, fake = sendgrid
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
