"""Retry policy as data: how often and how long a task retries a transient fault.

The faults themselves are sorted by :mod:`shelfops_alerts.outages.faults`. A transient fault
is retried after an exponential backoff with jitter (``base · 2^(n-1)``, spread ±25 %,
capped), at most ``max_retries`` times; then the task fails as it would have without a
retry, and the work waits for the next sweep. With the defaults (1 s doubling to a 60 s cap,
10 retries) a task rides out about five minutes of outage: a PostgreSQL restart or a
failover, not a lost data centre.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from shelfops_alerts.notify.backoff import compute_backoff

#: Spread of each wait, as a fraction of it, so a fleet of workers does not retry in step.
JITTER = 0.25


@dataclass(frozen=True)
class FaultRetryPolicy:
    """How a task retries a transient fault; defaults match the settings' defaults."""

    #: Retries after the first attempt; then the task fails.
    max_retries: int = 10
    #: The first wait; doubles per retry.
    base_s: float = 1.0
    #: No single wait is longer (it must stay well below the broker's visibility timeout).
    cap_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: Any) -> FaultRetryPolicy:
        return cls(
            max_retries=int(settings.fault_max_retries),
            base_s=float(settings.fault_retry_backoff_s),
            cap_s=float(settings.fault_retry_cap_s),
        )


@dataclass(frozen=True)
class RetryFault:
    """Run the task again in ``delay_s`` seconds; ``reason`` names the fault."""

    delay_s: float
    reason: str


@dataclass(frozen=True)
class GiveUp:
    """The fault is permanent, or the retries are used up: let the task fail (``reason``)."""

    reason: str


def after_fault(
    reason: str | None,
    *,
    retries_done: int,
    policy: FaultRetryPolicy,
    rng: random.Random | None = None,
) -> RetryFault | GiveUp:
    """What to do after a task failed with a fault: ``reason`` is the fault's transient
    reason (None: not transient); ``retries_done`` counts the retries already made."""
    if reason is None:
        return GiveUp("not a transient fault")
    if retries_done >= policy.max_retries:
        return GiveUp(f"{reason}: gave up after {retries_done} retries")
    delay = compute_backoff(
        retries_done + 1, base_s=policy.base_s, cap_s=policy.cap_s, jitter=JITTER, rng=rng
    )
    return RetryFault(delay, reason)
