"""What a failed send means, decided without Celery, Redis or HTTP."""

from __future__ import annotations

import random

from shelfops_alerts.notify.email.errors import PermanentSendError, TransientSendError
from shelfops_alerts.notify.outcomes import (
    RATE_JITTER_S,
    Failed,
    RetryIn,
    RetryPolicy,
    Sent,
    after_send_error,
    outcome_json,
    wake_after,
)

POLICY = RetryPolicy(max_retries=4, max_age_s=3600, base_s=10)


def test_a_permanent_fault_fails_at_once_with_the_providers_reason():
    decision = after_send_error(
        PermanentSendError("SendGrid answered HTTP 400: bad to", status=400),
        attempt=1,
        age_s=0,
        policy=POLICY,
    )
    assert decision.outcome == Failed("SendGrid answered HTTP 400: bad to")
    assert decision.pause_s is None


def test_a_transient_fault_is_retried_on_the_backoff_until_the_retries_run_out():
    error = TransientSendError("SendGrid answered HTTP 503: busy", status=503)
    # Given the second attempt failed: about 20 s (10 s doubled, jittered by a quarter)
    second = after_send_error(error, attempt=2, age_s=0, policy=POLICY, rng=random.Random(3))
    assert isinstance(second.outcome, RetryIn) and 15 <= second.outcome.delay_s <= 25
    assert "HTTP 503" in second.outcome.reason
    # And after the fifth (four retries made) it gives up, saying so with the fault
    fifth = after_send_error(error, attempt=5, age_s=0, policy=POLICY)
    assert isinstance(fifth.outcome, Failed)
    assert fifth.outcome.reason.startswith("gave up after 5 attempts: SendGrid answered HTTP 503")


def test_a_429_waits_the_providers_time_and_pauses_every_sender():
    error = TransientSendError("HTTP 429", status=429, retry_after=120.0)
    decision = after_send_error(error, attempt=1, age_s=0, policy=POLICY)
    assert decision.outcome == RetryIn(120.0, "HTTP 429")
    assert decision.pause_s == 120.0


def test_refused_callers_of_the_rate_limit_come_back_spread_out():
    rng = random.Random(5)
    waits = [wake_after(2.0, rng=rng) for _ in range(20)]
    assert all(2.0 <= w <= 2.0 + RATE_JITTER_S for w in waits)
    assert len(set(waits)) == 20


def test_an_outcome_reads_as_the_tasks_json_result():
    assert outcome_json(Sent("msg-1", 2), delivery_id=7) == {
        "delivery_id": 7,
        "provider_message_id": "msg-1",
        "attempt": 2,
        "status": "sent",
    }
