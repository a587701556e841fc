"""How a send can fail, and the policy that sorts provider answers into retry / give up.

A :class:`TransientSendError` is worth retrying (rate limits, provider faults, network
trouble); a :class:`PermanentSendError` is not (bad address, bad key, rejected payload). Both
carry the provider's own reason, cut to :data:`MAX_REASON_LENGTH` characters, so the delivery
row and the logs say *why*.

The exceptions pickle with their attributes (Celery moves exceptions between processes).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

#: How much of a provider's answer an error message keeps.
MAX_REASON_LENGTH = 500
#: HTTP statuses below 500 that still mean "try again later".
TRANSIENT_STATUSES = frozenset({408, 429})


class SendError(Exception):
    """A message was not accepted; ``status`` is the provider's HTTP status, when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientSendError(SendError):
    """Retry later; ``retry_after`` is the provider's requested wait in seconds, if it gave one."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Retrying cannot help: the provider refused this message or our credentials."""


def excerpt(body: bytes | str | None, limit: int = MAX_REASON_LENGTH) -> str:
    """A provider's answer as one line of at most ``limit`` characters."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_for_status(
    status: int,
    body: bytes | str | None,
    headers: Mapping[str, str] | None = None,
    *,
    provider: str = "SendGrid",
    now: float | None = None,
) -> SendError:
    """The error for a non-success HTTP answer: 408, 429 and 5xx are transient, the rest not."""
    reason = excerpt(body) or "(empty answer)"
    message = f"{provider} answered HTTP {status}: {reason}"
    if status in TRANSIENT_STATUSES or status >= 500:
        wait = retry_after_seconds(headers or {}, now=now) if status == 429 else None
        return TransientSendError(message, status=status, retry_after=wait)
    return PermanentSendError(message, status=status)


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the provider asks us to wait, from ``Retry-After`` (seconds or an HTTP date) or
    ``X-RateLimit-Reset`` (epoch seconds, SendGrid's way); never negative, None if neither."""
    now = time.time() if now is None else now
    retry_after = (headers.get("Retry-After") or "").strip()
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
        try:
            return max(0.0, parsedate_to_datetime(retry_after).timestamp() - now)
        except (TypeError, ValueError):
            pass
    reset = (headers.get("X-RateLimit-Reset") or "").strip()
    if reset:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            pass
    return None
