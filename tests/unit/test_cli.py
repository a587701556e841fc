"""The user's door with no server at all: settings errors name the variable."""

from __future__ import annotations

from tests.support.cli import run


def test_a_missing_setting_is_named(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "alerts", "list")
    assert code == 2 and "SHELFOPS_DATABASE_URL is not set" in err
