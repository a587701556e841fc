"""Running the command line in-process, as a user would type it."""

from __future__ import annotations

import pytest

from shelfops_alerts.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, standard output and standard error of ``shelfops-alerts *argv``."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
