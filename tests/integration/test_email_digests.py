"""Digests through the real pipeline: a burst of alerts becomes a handful of e-mails.

The email worker runs with a 2 s digest window against the fake SendGrid API: the first
critical alert of a quiet period goes out at once, those that follow are grouped per
recipient and sent when the window closes.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter

import pytest

from shelfops_alerts.intake.client import notify_forecast_complete
from tests.integration.conftest import sendgrid_env, wait_idle
from tests.support.data import put_recipients, put_skus, rows
from tests.support.waiting import wait_until

CUSTOMER = "burstco"
RECIPIENTS = ("ops@burstco.example", "buyer@burstco.example")
WINDOW_S = 2
LISTED = re.compile(r"^\d+\. Alert #(\d+) ", re.MULTILINE)


@pytest.fixture()
def sendgrid(db, alerts_workers, email_workers, sendgrid_api):
    """Like ``sendgrid_pipeline``, with a digest window of WINDOW_S."""
    sendgrid_api.reset()
    email_workers.use(**sendgrid_env(sendgrid_api, digest_window_s=WINDOW_S))
    yield db, sendgrid_api
    sendgrid_api.reset()


def alerts_in(request) -> list[int]:
    """The alert ids one accepted e-mail is about: its alert_id, or every alert it lists."""
    if "alert_id" in request.json["custom_args"]:
        return [int(request.json["custom_args"]["alert_id"])]
    plain = next(c["value"] for c in request.json["content"] if c["type"] == "text/plain")
    return [int(i) for i in LISTED.findall(plain)]


def test_a_burst_of_200_critical_alerts_becomes_a_handful_of_mails_per_recipient(
    sendgrid, settings
):
    db, fake = sendgrid
    # Given 200 SKUs about to run out, and two recipients of critical alerts
    put_skus(db, CUSTOMER, [(f"S{n // 50}", f"P{n:03d}", 1.0, 10.0) for n in range(200)])
    put_recipients(db, CUSTOMER, {r: "critical" for r in RECIPIENTS})

    # When one forecast event raises all 200 alerts at once
    started = time.monotonic()
    notify_forecast_complete(CUSTOMER, settings=settings)
    wait_until(
        lambda: (
            rows(db, "SELECT count(*) FROM email_deliveries WHERE status = 'sent'")[0][0] == 400
        ),
        60,
        "all 400 deliveries to be sent",
    )
    elapsed = time.monotonic() - started
    wait_idle(settings)

    alert_ids = {r.id for r in rows(db, "SELECT id FROM alerts WHERE customer_id = :c", c=CUSTOMER)}
    assert len(alert_ids) == 200
    for recipient in RECIPIENTS:
        mails = [
            r for r in fake.accepted if r.json["personalizations"][0]["to"][0]["email"] == recipient
        ]
        # Then each recipient got the first alert at once and the rest in a few digests: at
        # most one per window that the burst took to route (a loaded machine routes slower)
        most = 2 + math.ceil(elapsed / WINDOW_S)
        assert 2 <= len(mails) <= min(most, 20), f"{recipient} got {len(mails)} e-mails"
        assert "alert_id" in mails[0].json["custom_args"]
        assert all("digest_id" in m.json["custom_args"] for m in mails[1:])
        # And every alert is listed for them exactly once, none missing
        listed = Counter(i for m in mails for i in alerts_in(m))
        assert set(listed) == alert_ids
        assert set(listed.values()) == {1}

    # And each digested delivery is marked sent with its digest's provider message id
    digested = rows(
        db,
        "SELECT d.provider_message_id AS mine, g.provider_message_id AS digest, g.status"
        " FROM email_deliveries d JOIN email_digests g ON g.id = d.digest_id",
    )
    assert len(digested) == 400 - len(RECIPIENTS)
    assert all(d.mine == d.digest and d.status == "sent" for d in digested)
    assert len(fake.requests) == len(fake.accepted)
