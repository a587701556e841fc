"""A transient fault is retried on a capped, jittered exponential backoff, a bounded number
of times; anything else is never retried."""

from __future__ import annotations

import random

from shelfops_alerts.outages.retries import FaultRetryPolicy, GiveUp, RetryFault, after_fault

POLICY = FaultRetryPolicy(max_retries=5, base_s=1.0, cap_s=8.0)


def test_a_transient_fault_waits_longer_after_each_retry_up_to_the_cap():
    # Given a deadlock, When a task has already retried 0, 1, 2, ... times
    waits = []
    for done in range(5):
        verdict = after_fault("deadlock (40P01)", retries_done=done, policy=POLICY)
        assert isinstance(verdict, RetryFault) and verdict.reason == "deadlock (40P01)"
        waits.append(verdict.delay_s)

    # Then each wait is about double the one before (±25 % jitter), never above the cap
    for done, wait in enumerate(waits):
        nominal = min(8.0, 2.0**done)
        assert 0.75 * nominal <= wait <= min(8.0, 1.25 * nominal)


def test_waits_are_spread_so_workers_do_not_retry_in_step():
    rng = random.Random(3)
    waits = {
        after_fault("connection lost", retries_done=2, policy=POLICY, rng=rng).delay_s  # type: ignore[union-attr]
        for _ in range(30)
    }
    assert len(waits) > 20 and all(3.0 <= w <= 5.0 for w in waits)


def test_the_task_gives_up_when_its_retries_are_used_up():
    verdict = after_fault("lock timeout (55P03)", retries_done=5, policy=POLICY)
    assert verdict == GiveUp("lock timeout (55P03): gave up after 5 retries")


def test_a_fault_that_is_not_transient_is_never_retried():
    assert after_fault(None, retries_done=0, policy=POLICY) == GiveUp("not a transient fault")


def test_the_policy_comes_from_the_settings():
    class Settings:
        fault_max_retries = 3
        fault_retry_backoff_s = 0.5
        fault_retry_cap_s = 4.0

    assert FaultRetryPolicy.from_settings(Settings) == FaultRetryPolicy(3, 0.5, 4.0)
