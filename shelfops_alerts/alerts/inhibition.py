"""Inhibition: while a SKU's forecast is doubted, its forecast-driven findings are lowered.

An active ``forecast_accuracy_low`` alert (or such a finding in the same batch) inhibits the
SKU's ``stockout_predicted`` and ``reorder_recommended`` findings: each is lowered one
severity step (low stays low), and its metadata says by what and why, so the change is
explained wherever the alert is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from shelfops_alerts.alerts.muting import Verdict
from shelfops_alerts.detect.rules.finding import Finding
from shelfops_alerts.vocabulary import (
    FORECAST_ACCURACY_LOW,
    REORDER_RECOMMENDED,
    SEVERITIES,
    STOCKOUT_PREDICTED,
)

#: While an alert of this type is active for a SKU, its forecast-driven alerts are lowered.
INHIBITING_TYPE = FORECAST_ACCURACY_LOW
#: Alert types computed from the demand forecast, so doubtful while the forecast is.
FORECAST_DRIVEN_TYPES = (STOCKOUT_PREDICTED, REORDER_RECOMMENDED)
INHIBITION_REASON = (
    f"forecast accuracy is low for this SKU ({INHIBITING_TYPE} is active), "
    "so this forecast-driven alert is lowered one severity step"
)


def lower_severity(severity: str) -> str:
    """One step down: critical → high → medium → low; low stays low."""
    return SEVERITIES[max(SEVERITIES.index(severity) - 1, 0)]


def inhibiting_skus(findings: Iterable[Finding]) -> set[tuple[str, str]]:
    """SKUs (store, product) that have a forecast_accuracy_low finding in this batch."""
    return {(f.store_id, f.product_id) for f in findings if f.alert_type == INHIBITING_TYPE}


@dataclass(frozen=True)
class Inhibitor:
    """Lowers the forecast-driven findings of the ``inhibited`` SKUs (store, product)."""

    inhibited: frozenset[tuple[str, str]]

    def judge(self, verdict: Verdict) -> Verdict:
        finding = verdict.finding
        key = (finding.store_id, finding.product_id)
        if finding.alert_type not in FORECAST_DRIVEN_TYPES or key not in self.inhibited:
            return verdict
        metadata = {
            **finding.metadata,
            "inhibited_by": INHIBITING_TYPE,
            "severity_before_inhibition": finding.severity,
            "inhibition": INHIBITION_REASON,
        }
        lowered = replace(finding, severity=lower_severity(finding.severity), metadata=metadata)
        return replace(verdict, finding=lowered)
