"""Inhibition and silences, the two muters persist runs findings through (pure)."""

from __future__ import annotations

import pytest

from shelfops_alerts.alerts.inhibition import Inhibitor, inhibiting_skus, lower_severity
from shelfops_alerts.alerts.muting import Verdict, judge_all
from shelfops_alerts.alerts.silencing import Silencer, SilenceRule, matching_silence
from shelfops_alerts.detect.rules import Finding


def finding(kind="stockout_predicted", severity="critical", store="S1", product="P1"):
    return Finding(store, product, kind, severity, "m", {"days_until_stockout": 0.5})


@pytest.mark.parametrize(
    ("before", "after"),
    [("critical", "high"), ("high", "medium"), ("medium", "low"), ("low", "low")],
)
def test_lowering_a_severity_goes_one_step_and_stops_at_low(before, after):
    assert lower_severity(before) == after


def test_inhibition_lowers_only_forecast_driven_findings_of_inhibited_skus():
    # Given S1/P1 is inhibited and four findings
    findings = [
        finding("stockout_predicted", "critical"),
        finding("reorder_recommended", "medium"),
        finding("anomaly_detected", "high"),
        finding("stockout_predicted", "critical", store="S2"),
    ]

    # When inhibition is applied
    out = [v.finding for v in judge_all(findings, [Inhibitor(frozenset({("S1", "P1")}))])]

    # Then stockout critical→high and reorder medium→low for S1/P1; the rest unchanged
    assert [f.severity for f in out] == ["high", "low", "high", "critical"]
    assert out[0].metadata == {
        "days_until_stockout": 0.5,
        "inhibited_by": "forecast_accuracy_low",
        "severity_before_inhibition": "critical",
        "inhibition": out[0].metadata["inhibition"],
    }
    assert "forecast accuracy is low" in out[0].metadata["inhibition"]
    assert out[2] == findings[2] and out[3] == findings[3]
    # And the input findings are not changed
    assert findings[0].severity == "critical" and "inhibited_by" not in findings[0].metadata


def test_an_accuracy_finding_names_its_sku_as_inhibiting():
    findings = [finding("forecast_accuracy_low", "medium", store="S3"), finding()]
    assert inhibiting_skus(findings) == {("S3", "P1")}


def test_a_silence_matches_on_every_field_it_names_and_ignores_the_others():
    # Given silences on store S1 (7), on product P2 of type anomaly (5), and everything (9)
    store_wide = SilenceRule(7, store_id="S1")
    narrow = SilenceRule(5, product_id="P2", alert_type="anomaly_detected")
    # Then
    assert matching_silence(finding(store="S1"), [store_wide, narrow]) == 7
    assert matching_silence(finding(store="S2"), [store_wide, narrow]) is None
    assert matching_silence(finding("anomaly_detected", product="P2"), [store_wide, narrow]) == 5
    assert matching_silence(finding(product="P2"), [narrow]) is None
    # And of several matches the oldest (lowest id) wins
    assert matching_silence(finding(store="S1"), [SilenceRule(9), store_wide]) == 7


def test_muters_run_in_order_and_a_silenced_finding_keeps_its_lowered_severity():
    # Given S1/P1 inhibited and a silence on store S1
    muters = [Inhibitor(frozenset({("S1", "P1")})), Silencer([SilenceRule(7, store_id="S1")])]

    # When two findings go through both
    verdicts = judge_all([finding(store="S1"), finding(store="S2")], muters)

    # Then the first is lowered and silenced, the second neither
    assert [(v.finding.severity, v.silence_id) for v in verdicts] == [
        ("high", 7),
        ("critical", None),
    ]
    assert verdicts[1] == Verdict(finding(store="S2"))
