"""The user's door with no server at all: settings errors name the variable."""

from __future__ import annotations

import datetime as dt

import pytest

from shelfops_alerts.alerts.lifecycle import LifecycleError, parse_until
from shelfops_alerts.cli.common import in_flags
from tests.support.cli import run


def test_a_missing_setting_is_named(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "alerts", "list")
    assert code == 2 and "SHELFOPS_DATABASE_URL is not set" in err


def test_the_core_names_an_input_by_its_field_and_the_cli_by_its_flag():
    # Given the core refuses a silence end in the past, naming the field

    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with pytest.raises(LifecycleError) as caught:
        parse_until("2020-01-01T00:00:00", now=now)
    refused = caught.value
    assert str(refused).startswith("until must be in the future")
    # Then the CLI says it with its flag
    assert in_flags(refused).startswith("--until must be in the future")
    # And a message about no one input, or a field without a flag, is left as it is
    assert in_flags(LifecycleError("alert 5 does not exist")) == "alert 5 does not exist"
    assert in_flags(LifecycleError("colour must be red", field="colour")) == "colour must be red"


def test_flower_auth_must_be_user_and_password(capsys):
    import pytest

    from shelfops_alerts.cli import build_parser

    args = build_parser().parse_args(["dev", "--flower-auth", "ops:s3cret"])
    assert args.flower_auth == "ops:s3cret"
    for bad in ("ops", "ops:", ":s3cret"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["dev", "--flower-auth", bad])
        assert "USER:PASSWORD" in capsys.readouterr().err


def test_a_refusal_is_a_json_line_when_logs_are_json(capsys, monkeypatch, tmp_path):
    import json

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHELFOPS_LOG_FORMAT", "json")
    code, out, err = run(capsys, "alerts", "list")
    (line,) = [json.loads(text) for text in err.splitlines()]
    assert code == 2 and out == ""
    assert line["level"] == "error" and "SHELFOPS_DATABASE_URL is not set" in line["message"]
    assert line["command"] == "alerts"


def test_import_progress_line_shows_rows_rate_share_and_eta():
    """Given 40 % of a file's bytes read as 1,000,000 rows in 4 s, when the line is drawn,
    then it shows the rows, the share, 250,000 rows/s and 6 s to go."""
    from shelfops_alerts.cli.imports import import_progress_line

    line = import_progress_line(400, 1000, 1_000_000, 4.0)

    assert line.startswith("[" + "#" * 12 + "." * 18 + "]")
    assert "1,000,000 rows" in line and "40.0%" in line
    assert "250,000 rows/s" in line and "ETA 6s" in line


def test_import_bar_redraws_in_place_then_says_it_stores(monkeypatch):
    """Given the import's progress callback, when reading reports twice quickly and then
    storing begins, then one bar is drawn (throttled, in place) and then the storing line."""
    import io

    from shelfops_alerts.cli import imports

    clock = iter([100.0, 100.5, 100.55, 101.0])
    monkeypatch.setattr(imports.time, "monotonic", lambda: next(clock))
    out = io.StringIO()
    bar = imports.ImportBar(out)

    bar("reading", 10, 100, 1000)
    bar("reading", 11, 100, 1100)  # 0.05 s later: not redrawn
    bar("storing", 100, 100, 9000)

    lines = out.getvalue()
    assert lines.count("\r") == 1 and "1,000 rows" in lines and "1,100 rows" not in lines
    assert lines.endswith("storing 9,000 rows ...\n")
