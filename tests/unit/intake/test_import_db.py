"""The import's own connection: parameters as psycopg2 takes them, and no SQLAlchemy to load."""

from __future__ import annotations

import subprocess
import sys

from shelfops_alerts.cli.imports import libpq_url
from shelfops_alerts.intake.import_db import pyformat


def test_named_parameters_become_psycopg2_ones_and_casts_and_percents_stay() -> None:
    """Given a statement with :name parameters, a :: cast and a % sign, when converted,
    then only the parameters change and the % reaches the server as one %."""
    sql = "SELECT CAST(:table AS regclass), conname::text, 'a%b' FROM t WHERE x = :x_1"

    assert pyformat(sql) == (
        "SELECT CAST(%(table)s AS regclass), conname::text, 'a%%b' FROM t WHERE x = %(x_1)s"
    )


def test_the_database_url_is_given_to_libpq_without_a_driver_name() -> None:
    """Given URLs with and without SQLAlchemy's driver name, then libpq gets plain ones."""
    assert libpq_url("postgresql+psycopg2://u@h/db") == "postgresql://u@h/db"
    assert libpq_url("postgresql://u@/db?host=/tmp/x") == "postgresql://u@/db?host=/tmp/x"
    assert libpq_url("dbname=shelfops") == "dbname=shelfops"


def test_the_import_command_does_not_load_sqlalchemy() -> None:
    """Given a fresh interpreter, when it loads the CLI and the imports (what the import
    command runs), then no SQLAlchemy module is loaded (most of a command's start)."""
    code = (
        "import sys, shelfops_alerts.cli, shelfops_alerts.intake.imports;"
        "print(sorted(m for m in sys.modules if m.startswith('sqlalchemy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.strip() == "[]"
