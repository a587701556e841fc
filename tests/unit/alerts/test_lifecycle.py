"""Pure lifecycle checks, on hand-worked cases: when a silence ends, ack outcomes, the policy."""

from __future__ import annotations

import datetime as dt

import pytest

from shelfops_alerts.alerts.lifecycle import (
    LifecycleError,
    LifecyclePolicy,
    check_named,
    check_outcome,
    parse_until,
)
from shelfops_alerts.config import ConfigError, load_settings

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


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
        ("", "until must be a time"),
        (
            "tomorrow",
            "until must be a time (ISO 8601) or a duration like 2h or 3d, got 'tomorrow'",
        ),
        ("2026-03-01T11:00:00", "until must be in the future"),
        ("0h", "until must be in the future"),
    ],
)
def test_a_bad_until_is_refused_in_the_domains_words_naming_the_input(raw, message):
    with pytest.raises(LifecycleError) as refused:
        parse_until(raw, now=NOW)
    # Then the message speaks of the silence's end, not of a command-line flag
    assert str(refused.value).startswith(message) and "--" not in str(refused.value)
    assert refused.value.field == "until"


def test_ack_outcomes_are_the_documented_five():
    for outcome in ("ordered", "transferred", "false_positive", "stock_corrected", "other", None):
        assert check_outcome(outcome) == outcome
    with pytest.raises(LifecycleError, match="^outcome must be one of ordered, transferred") as no:
        check_outcome("fixed")
    assert no.value.field == "outcome"


def test_a_blank_name_is_refused_naming_the_field():
    assert check_named("  ana ", field="actor", what="must name who is acting") == "ana"
    with pytest.raises(LifecycleError, match="^actor must name who is acting$") as refused:
        check_named(" ", field="actor", what="must name who is acting")
    assert refused.value.field == "actor"


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
