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
#: ... plus up to this share of the wait itself: the longer the wait, the wider the spread.
WAKE_SPREAD = 0.1


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
class Deferred:
    """Try again in ``delay_s``, a wait too long to hand to the broker (it would redeliver
    the message before it is due): the row keeps its due time and the relay brings it back."""

    delay_s: float
    reason: str
    status: str = "deferred"


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


Outcome = Sent | RetryIn | Deferred | Failed | Skipped | Digested


def outcome_json(outcome: Outcome, **ids: Any) -> dict[str, Any]:
    """The outcome as the task's JSON result, with the ids it concerns."""
    return {**ids, **asdict(outcome)}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a delivery (or digest) is retried; from the settings."""

    max_retries: int
    max_age_s: float
    base_s: float
    #: Longest wait before a retry, and longest fleet-wide pause a provider can ask for.
    max_pause_s: float = 900.0

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1

    @classmethod
    def from_settings(cls, settings: Any) -> RetryPolicy:
        return cls(
            max_retries=int(settings.email_max_retries),
            max_age_s=float(settings.email_max_age_s),
            base_s=float(settings.email_retry_backoff_s),
            max_pause_s=float(settings.email_max_pause_s),
        )


@dataclass(frozen=True)
class AfterError:
    """What a failed send means: retry or give up (``outcome``), and how long every sender
    should hold back (``pause_s``, a provider's 429; None: no pause)."""

    outcome: RetryIn | Failed
    pause_s: float | None = None


def describe_error(error: BaseException) -> str:
    """A failure as the row and the logs show it: a send error's own words (they name the
    provider), anything else with its type (``OSError: [Errno 28] No space left``)."""
    if isinstance(error, PermanentSendError | TransientSendError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def after_send_error(
    error: Exception,
    *,
    attempt: int,
    age_s: float,
    policy: RetryPolicy,
    rng: random.Random | None = None,
) -> AfterError:
    """Sort any failure of an attempt: a permanent fault fails at once with the provider's
    reason; anything else (a transient fault, a full disk, a database error while recording)
    is retried on the backoff (or the provider's wait, when longer; neither beyond
    ``policy.max_pause_s``) until the retries or the age run out."""
    reason = describe_error(error)
    if isinstance(error, PermanentSendError):
        return AfterError(Failed(reason))
    pause = None
    if isinstance(error, TransientSendError) and error.retry_after:
        # ``Retry-After: inf`` or a reset a day away must not stop all mail for that long.
        pause = min(error.retry_after, policy.max_pause_s)
    plan = plan_retry(
        attempt,
        age_s=age_s,
        max_retries=policy.max_retries,
        max_age_s=policy.max_age_s,
        base_s=policy.base_s,
        retry_after_s=pause,
        cap_s=policy.max_pause_s,
        rng=rng,
    )
    if plan.delay_s is None:
        return AfterError(Failed(f"{plan.reason}: {reason}"), pause)
    return AfterError(RetryIn(plan.delay_s, reason), pause)


def later(delay_s: float, reason: str, *, max_countdown_s: float) -> RetryIn | Deferred:
    """Come back in ``delay_s``: through the broker (a countdown) when that is safely below
    its visibility timeout, else through the row's due time and the relay."""
    if delay_s <= max_countdown_s:
        return RetryIn(delay_s, reason)
    return Deferred(delay_s, reason)


def wake_after(wait_s: float, *, rng: random.Random | None = None) -> float:
    """The countdown of a caller the rate limit refused for ``wait_s`` (its own turn, see
    rate_limit.py): spread by a share of the wait and a few milliseconds, so callers told
    about the same time do not all come back at the same instant."""
    spread = (rng or random).uniform(0, WAKE_SPREAD * wait_s + RATE_JITTER_S)
    return wait_s + spread
