"""Pure lifecycle decisions: inhibition, silence matching, silence end times, ack outcomes.

Plain values in, plain values out; no database, no clock (the caller passes ``now``). The
set-based statements in persist.py apply these decisions to a whole batch at once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from shelfops_alerts.detect.rules.finding import Finding
from shelfops_alerts.models.base import SEVERITIES
from shelfops_alerts.models.silences import ACK_OUTCOMES

#: While an alert of this type is active for a SKU, its forecast-driven alerts are lowered.
INHIBITING_TYPE = "forecast_accuracy_low"
#: Alert types computed from the demand forecast, so doubtful while the forecast is.
FORECAST_DRIVEN_TYPES = ("stockout_predicted", "reorder_recommended")
INHIBITION_REASON = (
    "forecast accuracy is low for this SKU (forecast_accuracy_low is active), "
    "so this forecast-driven alert is lowered one severity step"
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class LifecycleError(ValueError):
    """Bad lifecycle input (a silence, an outcome); the message says which and why."""


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


@dataclass(frozen=True)
class SilenceRule:
    """An active silence as persist needs it: its id and what it matches (None = any)."""

    silence_id: int
    store_id: str | None = None
    product_id: str | None = None
    alert_type: str | None = None

    def matches(self, finding: Finding) -> bool:
        return (
            self.store_id in (None, finding.store_id)
            and self.product_id in (None, finding.product_id)
            and self.alert_type in (None, finding.alert_type)
        )


def lower_severity(severity: str) -> str:
    """One step down: critical → high → medium → low; low stays low."""
    return SEVERITIES[max(SEVERITIES.index(severity) - 1, 0)]


def inhibiting_skus(findings: Iterable[Finding]) -> set[tuple[str, str]]:
    """SKUs (store, product) that have a forecast_accuracy_low finding in this batch."""
    return {(f.store_id, f.product_id) for f in findings if f.alert_type == INHIBITING_TYPE}


def inhibit(findings: Sequence[Finding], inhibited: set[tuple[str, str]]) -> list[Finding]:
    """Findings with forecast-driven ones of ``inhibited`` SKUs lowered one step.

    The lowered finding's metadata keeps the rule's severity and says why, so the change
    is explained wherever the alert is shown.
    """
    out = []
    for finding in findings:
        key = (finding.store_id, finding.product_id)
        if finding.alert_type not in FORECAST_DRIVEN_TYPES or key not in inhibited:
            out.append(finding)
            continue
        metadata = {
            **finding.metadata,
            "inhibited_by": INHIBITING_TYPE,
            "severity_before_inhibition": finding.severity,
            "inhibition": INHIBITION_REASON,
        }
        out.append(replace(finding, severity=lower_severity(finding.severity), metadata=metadata))
    return out


def matching_silence(finding: Finding, silences: Sequence[SilenceRule]) -> int | None:
    """The id of the first (oldest) silence matching ``finding``, or None."""
    for rule in sorted(silences, key=lambda r: r.silence_id):
        if rule.matches(finding):
            return rule.silence_id
    return None


def silence_ids(findings: Sequence[Finding], silences: Sequence[SilenceRule]) -> list[int | None]:
    """For each finding, the silence that mutes it (or None), in order."""
    return [matching_silence(f, silences) for f in findings]


def parse_until(raw: str, *, now: dt.datetime) -> dt.datetime:
    """When a silence ends: a duration from ``now`` (``90m``, ``2h``, ``3d``, ``1w``) or an
    ISO 8601 time (a time without an offset is UTC). It must lie in the future."""
    text = (raw or "").strip()
    if not text:
        raise LifecycleError("--until must be a time (ISO 8601) or a duration like 2h or 3d")
    duration = _DURATION.match(text.lower())
    if duration:
        until = now + dt.timedelta(seconds=float(duration[1]) * _UNIT_SECONDS[duration[2]])
    else:
        try:
            until = dt.datetime.fromisoformat(text)
        except ValueError:
            raise LifecycleError(
                f"--until must be a time (ISO 8601) or a duration like 2h or 3d, got {raw!r}"
            ) from None
        if until.tzinfo is None:
            until = until.replace(tzinfo=dt.UTC)
    if until <= now:
        raise LifecycleError(f"--until must be in the future, got {raw!r}")
    return until


def check_outcome(outcome: str | None) -> str | None:
    """``outcome`` if it is one of ACK_OUTCOMES (or None); otherwise a clear error."""
    if outcome is None or outcome in ACK_OUTCOMES:
        return outcome
    raise LifecycleError(f"--outcome must be one of {', '.join(ACK_OUTCOMES)}, got {outcome!r}")
