"""What a failed send means, decided without Celery, Redis or HTTP."""

from __future__ import annotations

import random

from shelfops_alerts.notify.email.errors import PermanentSendError, TransientSendError
from shelfops_alerts.notify.outcomes import (
    RATE_JITTER_S,
    WAKE_SPREAD,
    Deferred,
    Failed,
    RetryIn,
    RetryPolicy,
    Sent,
    after_send_error,
    later,
    outcome_json,
    wake_after,
)

POLICY = RetryPolicy(max_retries=4, max_age_s=3600, base_s=10, max_pause_s=300)


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


def test_a_provider_wait_and_the_backoff_never_exceed_the_maximum_pause():
    # Given a provider asking for a day, or for ever
    for asked in (86400.0, float("inf")):
        error = TransientSendError("HTTP 429", status=429, retry_after=asked)
        decision = after_send_error(error, attempt=1, age_s=0, policy=POLICY)
        # Then both this delivery and every sender wait the maximum pause, no longer
        assert decision.outcome == RetryIn(300.0, "HTTP 429") and decision.pause_s == 300.0
    # And the eighth backoff (10 s doubled seven times: 1,280 s) is held to it too
    late = after_send_error(TransientSendError("HTTP 500"), attempt=8, age_s=0, policy=POLICY)
    assert isinstance(late.outcome, Failed)  # (four retries only)
    long_policy = RetryPolicy(max_retries=10, max_age_s=1e6, base_s=10, max_pause_s=300)
    eighth = after_send_error(
        TransientSendError("HTTP 500"), attempt=8, age_s=0, policy=long_policy
    )
    assert isinstance(eighth.outcome, RetryIn) and 225 <= eighth.outcome.delay_s <= 300


def test_any_failure_of_an_attempt_is_retried_like_a_provider_fault():
    # Given a full disk under the file backend, or a database error while recording
    for error in (OSError(28, "No space left on device"), RuntimeError("connection lost")):
        decision = after_send_error(error, attempt=1, age_s=0, policy=POLICY)
        # Then the retry plan applies, and the reason names the kind of failure
        assert isinstance(decision.outcome, RetryIn) and decision.pause_s is None
        assert decision.outcome.reason.startswith(type(error).__name__ + ": ")
    # And after the last attempt it fails for good, saying why
    final = after_send_error(OSError("read-only"), attempt=5, age_s=0, policy=POLICY)
    assert final.outcome == Failed("gave up after 5 attempts: OSError: read-only")


def test_a_wait_too_long_for_the_broker_is_left_to_the_relay():
    assert later(10.0, "why", max_countdown_s=1800) == RetryIn(10.0, "why")
    assert later(3600.0, "why", max_countdown_s=1800) == Deferred(3600.0, "why")


def test_refused_callers_of_the_rate_limit_come_back_spread_in_proportion_to_the_wait():
    rng = random.Random(5)
    for wait in (0.1, 2.0, 60.0):
        waits = [wake_after(wait, rng=rng) for _ in range(50)]
        top = wait + WAKE_SPREAD * wait + RATE_JITTER_S
        assert all(wait <= w <= top for w in waits)
        assert len(set(waits)) == 50
        # the longer the wait, the wider the spread
        assert max(waits) - min(waits) > 0.5 * WAKE_SPREAD * wait


def test_an_outcome_reads_as_the_tasks_json_result():
    assert outcome_json(Sent("msg-1", 2), delivery_id=7) == {
        "delivery_id": 7,
        "provider_message_id": "msg-1",
        "attempt": 2,
        "status": "sent",
    }
