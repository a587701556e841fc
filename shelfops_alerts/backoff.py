"""Retry policy as data: how long to wait before attempt *n* of a failed delivery."""

from __future__ import annotations

import random

#: Upper bound of any single wait, whatever the attempt number.
MAX_BACKOFF_S = 3600.0


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
