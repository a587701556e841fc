"""What an operator does with a failed delivery: find it, then retry it, from the CLI."""

from __future__ import annotations

import json

import pytest

from shelfops_alerts.cli import main
from shelfops_alerts.intake.client import notify_forecast_complete
from tests.integration.conftest import wait_idle
from tests.support.data import put_recipients, put_skus, rows
from tests.support.waiting import wait_until

CUSTOMER = "opsco"


@pytest.fixture()
def sendgrid(sendgrid_pipeline, base_env, monkeypatch):
    for name, value in base_env.items():  # the CLI reads its settings from the environment
        monkeypatch.setenv(name, value)
    return sendgrid_pipeline


def test_a_failed_delivery_is_listed_with_its_reason_and_retried_to_sent(
    sendgrid, settings, capsys
):
    db, fake = sendgrid
    put_skus(db, CUSTOMER, [("S1", "P1", 1.0, 10.0), ("S1", "P2", 500.0, 10.0)])
    put_recipients(db, CUSTOMER, {"ops@opsco.example": "critical"})
    # Given SendGrid refused the mail once (a bad key, since fixed)
    fake.script([(403, {"errors": [{"message": "The provided API key is not allowed."}]})])
    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_until(
        lambda: rows(db, "SELECT 1 FROM email_deliveries WHERE status = 'failed'"),
        20,
        "the delivery to fail",
    )
    wait_idle(settings)
    capsys.readouterr()

    # When the operator lists failed deliveries
    assert main(["deliveries", "list", "--status", "failed", "--customer", CUSTOMER, "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    # Then the delivery is there with its attempts and the provider's reason
    assert (listed["status"], listed["attempts"]) == ("failed", 1)
    assert "not allowed" in listed["last_error"]

    # When they retry it, and a sent or unknown delivery along with it
    assert main(["deliveries", "retry", str(listed["id"]), "999999"]) == 2
    captured = capsys.readouterr()
    assert f"delivery {listed['id']} queued again" in captured.out
    assert "no delivery 999999" in captured.err
    wait_until(
        lambda: rows(db, "SELECT 1 FROM email_deliveries WHERE status = 'sent'"),
        20,
        "the retried delivery to be sent",
    )
    wait_idle(settings)

    # Then it went out once more and was accepted, and a second retry is refused
    assert [r.answered for r in fake.requests] == [403, 202]
    (delivery,) = rows(db, "SELECT id, status, attempts FROM email_deliveries")
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert main(["deliveries", "retry", str(delivery.id)]) == 2
    assert "only failed deliveries can be retried" in capsys.readouterr().err
    assert rows(db, "SELECT status FROM email_deliveries")[0].status == "sent"
    assert main(["deliveries", "list"]) == 0
    assert "ops@opsco.example" in capsys.readouterr().out
