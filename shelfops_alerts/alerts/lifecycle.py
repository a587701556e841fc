"""The lifecycle policy, and checks of what operators type: when a silence ends, ack outcomes.

Plain values in, plain values out; no database, no clock (the caller passes ``now``). What
mutes or lowers a finding lives beside this module: ``muting.py`` (the interface),
``silencing.py`` and ``inhibition.py``.

Errors speak of the domain and name the input in ``field`` (``until``, ``outcome``, ...);
the CLI shows its own flag for it (``--until``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from shelfops_alerts.vocabulary import ACK_OUTCOMES

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class LifecycleError(ValueError):
    """Bad lifecycle input (a silence, an outcome, an actor); nothing was changed.

    The message starts with the name of the input at fault, ``field`` (None when the fault
    is not one input's, e.g. an unknown alert), so a door can name it its own way.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LifecyclePolicy:
    """How alerts resolve and reopen; defaults match the settings' defaults."""

    #: Consecutive clean checks before an active alert resolves itself.
    resolve_after_checks: int = 2
    #: A resolved alert firing again within this many seconds is re-opened.
    reopen_within_s: float = 86400.0

    @classmethod
    def from_settings(cls, settings: Any) -> LifecyclePolicy:
        """The policy of a :class:`~shelfops_alerts.config.Settings`."""
        return cls(
            resolve_after_checks=int(settings.resolve_after_checks),
            reopen_within_s=float(settings.reopen_within_s),
        )


def parse_until(raw: str, *, now: dt.datetime) -> dt.datetime:
    """When a silence ends: a duration from ``now`` (``90m``, ``2h``, ``3d``, ``1w``) or an
    ISO 8601 time (a time without an offset is UTC). It must lie in the future."""
    text = (raw or "").strip()
    expected = "until must be a time (ISO 8601) or a duration like 2h or 3d"
    if not text:
        raise LifecycleError(expected, field="until")
    duration = _DURATION.match(text.lower())
    if duration:
        until = now + dt.timedelta(seconds=float(duration[1]) * _UNIT_SECONDS[duration[2]])
    else:
        try:
            until = dt.datetime.fromisoformat(text)
        except ValueError:
            raise LifecycleError(f"{expected}, got {raw!r}", field="until") from None
        if until.tzinfo is None:
            until = until.replace(tzinfo=dt.UTC)
    check_until(until, now=now, shown=repr(raw))
    return until


def check_until(until: dt.datetime, *, now: dt.datetime, shown: str | None = None) -> None:
    """Refuse a silence end without a time zone, or not in the future."""
    if until.tzinfo is None:
        raise LifecycleError("until must carry a time zone", field="until")
    if until <= now:
        raise LifecycleError(
            f"until must be in the future, got {shown or until.isoformat()}", field="until"
        )


def check_outcome(outcome: str | None) -> str | None:
    """``outcome`` if it is one of ACK_OUTCOMES (or None); otherwise a clear error."""
    if outcome is None or outcome in ACK_OUTCOMES:
        return outcome
    raise LifecycleError(
        f"outcome must be one of {', '.join(ACK_OUTCOMES)}, got {outcome!r}", field="outcome"
    )


def check_named(value: str | None, *, field: str, what: str) -> str:
    """``value`` stripped, or an error saying it ``what`` (e.g. "must name who is acting")."""
    if value is None or not value.strip():
        raise LifecycleError(f"{field} {what}", field=field)
    return value.strip()
