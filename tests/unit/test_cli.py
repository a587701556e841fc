"""The user's door with no server at all: settings errors name the variable."""

from __future__ import annotations

from tests.support.cli import run


def test_a_missing_setting_is_named(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "alerts", "list")
    assert code == 2 and "SHELFOPS_DATABASE_URL is not set" in err


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
