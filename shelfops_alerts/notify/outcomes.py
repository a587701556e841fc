"""What one run of an e-mail task comes to, and the pure decisions that lead there.

:func:`~shelfops_alerts.notify.sending.send_delivery` and ``send_digest`` return one of
the outcomes below; the Celery task only translates it (``RetryIn`` → ``self.retry``,
``Failed`` → a failed task with the reason, the rest → a result). The decisions (what a
provider's answer means for this attempt, how long a refused caller of the rate limit stays
away) are plain functions of plain values, tested without Celery, Redis or HTTP.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

from shelfops_alerts.notify.backoff import plan_retry
from shelfops_alerts.notify.email.errors import PermanentSendError, TransientSendError
from shelfops_alerts.vocabulary import DIGEST, FAILED, SENT

#: Spread (seconds) added to a rate-limited task's countdown so waiting tasks do not all
#: come back at the same instant.
RATE_JITTER_S = 0.05


class DeliveryFailed(Exception):
    """A delivery or digest ended failed; the message carries the reason (what Flower shows)."""


@dataclass(frozen=True)
class Sent:
    """The provider accepted the e-mail; ``sent`` is recorded."""

    provider_message_id: str | None
    attempt: int
    status: str = SENT


@dataclass(frozen=True)
class RetryIn:
    """Try again in ``delay_s`` seconds; ``reason`` says why this run did not send."""

    delay_s: float
    reason: str
    status: str = "retry"


@dataclass(frozen=True)
class Failed:
    """No attempt can succeed (a permanent fault, or the retries or age are used up)."""

    reason: str
    status: str = FAILED


@dataclass(frozen=True)
class Skipped:
    """Nothing to do: already sent or failed, unknown, or being sent by another task."""

    reason: str
    status: str = "skipped"


@dataclass(frozen=True)
class Digested:
    """The delivery joined its recipient's digest ``digest_id``; when this delivery opened
    it, ``due_in_s`` says when the digest is to be sent (else None: already scheduled)."""

    digest_id: int
    due_in_s: float | None = None
    status: str = DIGEST


Outcome = Sent | RetryIn | Failed | Skipped | Digested


def outcome_json(outcome: Outcome, **ids: Any) -> dict[str, Any]:
    """The outcome as the task's JSON result, with the ids it concerns."""
    return {**ids, **asdict(outcome)}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a delivery (or digest) is retried; from the settings."""

    max_retries: int
    max_age_s: float
    base_s: float

    @classmethod
    def from_settings(cls, settings: Any) -> RetryPolicy:
        return cls(
            max_retries=int(settings.email_max_retries),
            max_age_s=float(settings.email_max_age_s),
            base_s=float(settings.email_retry_backoff_s),
        )


@dataclass(frozen=True)
class AfterError:
    """What a failed send means: retry or give up (``outcome``), and how long every sender
    should hold back (``pause_s``, a provider's 429; None: no pause)."""

    outcome: RetryIn | Failed
    pause_s: float | None = None


def after_send_error(
    error: PermanentSendError | TransientSendError,
    *,
    attempt: int,
    age_s: float,
    policy: RetryPolicy,
    rng: random.Random | None = None,
) -> AfterError:
    """Sort a send's failure: permanent faults fail at once with the provider's reason;
    transient ones are retried on the backoff (or the provider's wait, when longer) until
    the retries or the age run out."""
    if isinstance(error, PermanentSendError):
        return AfterError(Failed(str(error)))
    pause = error.retry_after or None
    plan = plan_retry(
        attempt,
        age_s=age_s,
        max_retries=policy.max_retries,
        max_age_s=policy.max_age_s,
        base_s=policy.base_s,
        retry_after_s=pause,
        rng=rng,
    )
    if plan.delay_s is None:
        return AfterError(Failed(f"{plan.reason}: {error}"), pause)
    return AfterError(RetryIn(plan.delay_s, str(error)), pause)


def wake_after(wait_s: float, *, rng: random.Random | None = None) -> float:
    """The countdown of a caller the rate limit refused for ``wait_s``: a little later,
    spread, so the refused callers do not all come back at the same instant."""
    return wait_s + (rng or random).uniform(0, RATE_JITTER_S)
