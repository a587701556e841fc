"""Retry policy as data: how long to wait before attempt *n* of a failed delivery, and when
to stop (too many attempts, or too old). No wait exceeds the cap (SHELFOPS_EMAIL_MAX_PAUSE_S,
kept well below the broker's visibility timeout by the settings' check)."""

from __future__ import annotations

import random
from dataclasses import dataclass

#: Upper bound of any single wait when the caller gives none (the setting's default).
MAX_BACKOFF_S = 900.0


def compute_backoff(
    attempt: int,
    *,
    base_s: float,
    cap_s: float = MAX_BACKOFF_S,
    jitter: float = 0.25,
    rng: random.Random | None = None,
) -> float:
    """Exponential backoff with proportional jitter: ``base · 2^(attempt-1)``, capped.

    ``attempt`` counts from 1 (the wait after the first failure). The result is spread by
    ±``jitter`` of itself so a fleet of workers does not retry in lockstep.
    """
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    delay = min(cap_s, base_s * 2 ** (attempt - 1))
    spread = (rng or random).uniform(-jitter, jitter) * delay
    return max(0.0, min(cap_s, delay + spread))


@dataclass(frozen=True)
class RetryPlan:
    """What to do after a transient failure: wait ``delay_s`` and retry, or give up (why)."""

    delay_s: float | None
    reason: str = ""

    @property
    def give_up(self) -> bool:
        return self.delay_s is None


def plan_retry(
    attempt: int,
    *,
    age_s: float,
    max_retries: int,
    max_age_s: float,
    base_s: float,
    retry_after_s: float | None = None,
    cap_s: float = MAX_BACKOFF_S,
    rng: random.Random | None = None,
) -> RetryPlan:
    """After failed attempt ``attempt`` (from 1) of something first queued ``age_s`` ago:
    retry after the backoff (or the provider's ``retry_after_s``, when longer; neither beyond
    ``cap_s``), unless ``max_retries`` retries were already made or the next attempt would
    start when it is older than ``max_age_s``."""
    if attempt > max_retries:
        return RetryPlan(None, f"gave up after {attempt} attempts")
    delay = compute_backoff(attempt, base_s=base_s, cap_s=cap_s, rng=rng)
    if retry_after_s:
        delay = min(cap_s, max(delay, retry_after_s))
    if age_s + delay > max_age_s:
        return RetryPlan(
            None, f"gave up after {attempt} attempts: older than {max_age_s:g} s by the next one"
        )
    return RetryPlan(delay)
