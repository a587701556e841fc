"""An email worker SIGKILLed while sending loses no mail and duplicates none.

The claim (``sending``) is committed before the request to SendGrid and ``sent`` right after
its answer. Killed mid-request, the worker leaves its deliveries ``sending``; after restart the
relay (or the broker's redelivery of the unacknowledged message) takes them again once they
are stale, and the claim lets only one task send each.

The honest limit (README, "E-mail delivery"): if the provider had *accepted* a request and the
worker died before committing ``sent``, the delivery is sent again — at least once, not
exactly once; the duplicate carries the same ``delivery_id`` in its ``custom_args``. This test
kills the worker while the provider has not answered yet, which is the case that must neither
lose nor duplicate mail.
"""

from __future__ import annotations

import time
from collections import Counter

from shelfops_alerts.intake.client import notify_forecast_complete, send_event
from tests.integration.conftest import sendgrid_env, wait_idle
from tests.support.data import put_recipients, put_skus, rows
from tests.support.waiting import wait_until

CUSTOMER = "killco"


def test_an_email_worker_killed_mid_request_loses_and_duplicates_nothing(
    sendgrid_pipeline, settings, email_workers
):
    db, fake = sendgrid_pipeline
    put_skus(db, CUSTOMER, [("S1", f"P{n}", 1.0, 10.0) for n in range(3)])
    put_recipients(db, CUSTOMER, {"ops@killco.example": "critical"})
    # Given SendGrid holds the first two requests without answering
    fake.script([("sleep", 60), ("sleep", 60)])

    # When both pool processes of the email worker are mid-request and it is SIGKILLed
    notify_forecast_complete(CUSTOMER, settings=settings)
    fake.wait_for_requests(2, timeout_s=30)
    email_workers.current.kill()
    wait_until(
        lambda: sum(r.client_gone for r in fake.requests) == 2, 10, "the fake to see them hang up"
    )
    assert fake.accepted == []

    # And a worker is started again while the relay runs on its schedule
    email_workers.use(**sendgrid_env(fake))

    def all_sent() -> bool:
        send_event("shelfops.relay_outbox", {}, settings=settings)
        time.sleep(1)
        return rows(db, "SELECT count(*) FROM email_deliveries WHERE status = 'sent'")[0][0] == 3

    wait_until(all_sent, 45, "every delivery to be sent")
    wait_idle(settings)

    # Then each delivery was accepted by the provider exactly once
    deliveries = rows(db, "SELECT id, status, attempts FROM email_deliveries ORDER BY id")
    assert len(deliveries) == 3
    accepted = Counter(int(r.json["custom_args"]["delivery_id"]) for r in fake.accepted)
    assert accepted == {d.id: 1 for d in deliveries}
    # And the two interrupted ones were claimed twice: the killed attempt and the one that sent
    assert sorted(d.attempts for d in deliveries) == [1, 2, 2]
    assert len(fake.requests) == 5
