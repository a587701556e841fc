"""Retry waits grow exponentially, are capped, and are jittered."""

import random

import pytest

from shelfops_alerts.backoff import compute_backoff


def test_doubles_each_attempt_without_jitter():
    waits = [compute_backoff(n, base_s=30, jitter=0) for n in (1, 2, 3, 4)]
    assert waits == [30, 60, 120, 240]


def test_is_capped():
    assert compute_backoff(30, base_s=30, cap_s=600, jitter=0) == 600
    assert compute_backoff(30, base_s=30, cap_s=600, jitter=0.5) <= 600


def test_jitter_spreads_within_bounds():
    rng = random.Random(7)
    waits = {compute_backoff(3, base_s=10, jitter=0.25, rng=rng) for _ in range(50)}
    assert len(waits) > 10
    assert all(30 <= w <= 50 for w in waits)


def test_attempts_count_from_one():
    with pytest.raises(ValueError):
        compute_backoff(0, base_s=1)
