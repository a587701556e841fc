"""Retry waits grow exponentially, are capped, and are jittered."""

import random

import pytest

from shelfops_alerts.notify.backoff import compute_backoff, plan_retry


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


def test_a_retry_waits_the_backoff_or_the_providers_time_when_longer():
    # Given a second failed attempt, with a base of 10 s and no jitter from the rng
    rng = random.Random(1)
    plan = plan_retry(2, age_s=0, max_retries=4, max_age_s=3600, base_s=10, rng=rng)
    assert plan.delay_s is not None and 15 <= plan.delay_s <= 25
    # When the provider asked for 100 s, that wins
    plan = plan_retry(2, age_s=0, max_retries=4, max_age_s=3600, base_s=10, retry_after_s=100)
    assert plan.delay_s == 100


def test_gives_up_after_the_last_retry():
    plan = plan_retry(5, age_s=0, max_retries=4, max_age_s=3600, base_s=1)
    assert plan.give_up and plan.reason == "gave up after 5 attempts"
    assert not plan_retry(4, age_s=0, max_retries=4, max_age_s=3600, base_s=1).give_up


def test_gives_up_when_the_next_attempt_would_come_after_the_maximum_age():
    # Given a delivery 23.5 h old with a 24 h limit, and the provider asking for an hour
    plan = plan_retry(
        1, age_s=84600, max_retries=8, max_age_s=86400, base_s=1, retry_after_s=3600, cap_s=3600
    )
    # Then it is not retried
    assert plan.give_up and "older than 86400 s" in plan.reason
    # While a younger one is
    assert not plan_retry(1, age_s=60, max_retries=8, max_age_s=86400, base_s=1).give_up


def test_the_providers_wait_is_held_to_the_cap():
    plan = plan_retry(
        1, age_s=0, max_retries=4, max_age_s=1e6, base_s=1, retry_after_s=1e9, cap_s=900
    )
    assert plan.delay_s == 900
