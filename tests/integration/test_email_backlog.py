"""An e-mail backlog does not breed task messages: each delivery costs about one message.

300 deliveries at 20 e-mails/s (the tests' fleet-wide rate) take 15 s to drain, three times
the relay's delay (5 s in tests), while the relay runs every second (beat runs it every 30 s;
faster here to make a storm show). Deliveries merely waiting their turn must not be queued
again, and duplicate messages must not take rate slots. The messages are counted as the
email worker receives them (Celery's ``task-received`` events, one per message, retries
included).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

from celery import Celery

from shelfops_alerts.intake.client import notify_forecast_complete, send_event
from shelfops_alerts.vocabulary import RELAY_TASK, SEND_DIGEST_TASK, SEND_EMAIL_TASK
from tests.integration.conftest import TEST_WORKER_ENV, wait_idle
from tests.support.data import put_recipients, put_skus, rows
from tests.support.waiting import wait_until

CUSTOMER = "backlogco"
DELIVERIES = 300
RATE = int(TEST_WORKER_ENV["SHELFOPS_EMAIL_RATE"])


class MessageCounter:
    """Counts task messages the workers receive, by task name, from Celery's events."""

    def __init__(self, broker_url: str) -> None:
        self.app = Celery("shelfops-test-events", broker=broker_url)
        self.received: Counter[str] = Counter()
        self._receiver = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        def on_received(event: dict) -> None:
            self.received[event["name"]] += 1

        with self.app.connection() as connection:
            self._receiver = self.app.events.Receiver(
                connection, handlers={"task-received": on_received}
            )
            self._receiver.capture(limit=None, timeout=None, wakeup=False)

    def __enter__(self) -> MessageCounter:
        self._thread.start()
        wait_until(lambda: self._receiver is not None, 10, "the event receiver")
        time.sleep(1.0)  # subscribed before anything is sent
        return self

    def __exit__(self, *exc: object) -> None:
        if self._receiver is not None:
            self._receiver.should_stop = True
        self._thread.join(timeout=5)


def test_a_backlog_costs_about_one_message_per_delivery(pipeline, settings):
    db = pipeline
    put_skus(db, CUSTOMER, [("S1", f"P{n:03d}", 1.0, 10.0) for n in range(DELIVERIES)])
    put_recipients(db, CUSTOMER, {"ops@backlogco.example": "critical"})
    outbox = Path(settings.outbox_dir)

    with MessageCounter(settings.redis_url.reveal()) as counter:
        # When 300 critical alerts are raised at once, with the relay running every second
        notify_forecast_complete(CUSTOMER, settings=settings)

        def all_sent() -> bool:
            send_event(RELAY_TASK, {}, settings=settings)
            sent = rows(db, "SELECT count(*) FROM email_deliveries WHERE status = 'sent'")
            return sent[0][0] == DELIVERIES

        started = time.monotonic()
        wait_until(lambda: all_sent() or time.sleep(0.9), 90, "every delivery to be sent")
        drained_in = time.monotonic() - started
        wait_idle(settings)

    # Then the backlog took its time at the rate (it really was a backlog) ...
    assert drained_in >= DELIVERIES / RATE * 0.8
    # ... each delivery was sent once ...
    assert len(list(outbox.glob("*.eml"))) == DELIVERIES
    # ... and the email worker received about one message per delivery, not one per
    # delivery per relay run
    messages = counter.received[SEND_EMAIL_TASK] + counter.received[SEND_DIGEST_TASK]
    assert counter.received[SEND_EMAIL_TASK] >= DELIVERIES
    assert messages <= DELIVERIES * 1.1 + 5, dict(counter.received)
