"""Pure lifecycle decisions, on hand-worked cases: inhibition, silences, --until, outcomes."""

from __future__ import annotations

import datetime as dt

import pytest

from shelfops_alerts.alerts.lifecycle import (
    LifecycleError,
    LifecyclePolicy,
    SilenceRule,
    check_outcome,
    inhibit,
    inhibiting_skus,
    lower_severity,
    matching_silence,
    parse_until,
    silence_ids,
)
from shelfops_alerts.config import ConfigError, load_settings
from shelfops_alerts.detect.rules import Finding

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


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
    out = inhibit(findings, {("S1", "P1")})

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
    assert silence_ids([finding(store="S1"), finding(store="S2")], [store_wide]) == [7, None]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("90m", NOW + dt.timedelta(minutes=90)),
        ("2h", NOW + dt.timedelta(hours=2)),
        ("1.5d", NOW + dt.timedelta(hours=36)),
        ("1w", NOW + dt.timedelta(days=7)),
        ("2026-03-02T08:00:00", dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)),
        ("2026-03-02T08:00:00+02:00", dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)),
    ],
)
def test_until_is_a_duration_from_now_or_a_time_utc_when_no_offset(raw, expected):
    assert parse_until(raw, now=NOW) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "--until must be a time"),
        (
            "tomorrow",
            "--until must be a time (ISO 8601) or a duration like 2h or 3d, got 'tomorrow'",
        ),
        ("2026-03-01T11:00:00", "--until must be in the future"),
        ("0h", "--until must be in the future"),
    ],
)
def test_a_bad_until_is_refused_saying_why(raw, message):
    with pytest.raises(LifecycleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_until(raw, now=NOW)


def test_ack_outcomes_are_the_documented_five():
    for outcome in ("ordered", "transferred", "false_positive", "stock_corrected", "other", None):
        assert check_outcome(outcome) == outcome
    with pytest.raises(LifecycleError, match="--outcome must be one of ordered, transferred"):
        check_outcome("fixed")


def test_the_policy_reads_its_two_settings_from_the_environment():
    env = {"SHELFOPS_DATABASE_URL": "postgresql://db/x", "SHELFOPS_REDIS_URL": "redis://r/0"}
    # Given no lifecycle variables, Then the defaults: two clean checks, one day's quiet
    assert LifecyclePolicy.from_settings(load_settings(env)) == LifecyclePolicy(2, 86400.0)
    # Given both set, Then they are used
    tuned = {**env, "SHELFOPS_RESOLVE_AFTER_CHECKS": "3", "SHELFOPS_REOPEN_WITHIN_S": "60"}
    assert LifecyclePolicy.from_settings(load_settings(tuned)) == LifecyclePolicy(3, 60.0)


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("SHELFOPS_RESOLVE_AFTER_CHECKS", "0", "SHELFOPS_RESOLVE_AFTER_CHECKS must be greater"),
        ("SHELFOPS_RESOLVE_AFTER_CHECKS", "two", "SHELFOPS_RESOLVE_AFTER_CHECKS must be a whole"),
        ("SHELFOPS_REOPEN_WITHIN_S", "-5", "SHELFOPS_REOPEN_WITHIN_S must be greater than 0"),
    ],
)
def test_a_bad_lifecycle_setting_is_refused_naming_the_variable(name, raw, message):
    env = {"SHELFOPS_DATABASE_URL": "postgresql://db/x", "SHELFOPS_REDIS_URL": "redis://r/0"}
    with pytest.raises(ConfigError, match=message):
        load_settings({**env, name: raw})
