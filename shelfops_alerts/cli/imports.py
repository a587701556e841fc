"""``shelfops-alerts import KIND FILE``: load a CSV file with a header row, all or nothing.

On a terminal it draws a progress bar on stderr while the file is read (rows, rate, ETA;
the share done is by bytes), then says when the rows are being stored. An import that wrote
a good share of a table vacuums it once committed (:func:`~shelfops_alerts.intake.imports.settle`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from shelfops_alerts.cli.common import CommandError, add_json_flag, print_json
from shelfops_alerts.config import Settings

KINDS = (
    "inventory",
    "forecasts",
    "recipients",
    "policies",
    "sales",
    "arrivals",
    "rule-settings",
    "thresholds",
)


#: Seconds between two redraws of the bar.
REDRAW_S = 0.2
BAR_WIDTH = 30


def import_progress_line(done: int, total: int, rows: int, elapsed_s: float) -> str:
    """``[#####.....] 1,234,567 rows  40.0%  250,000 rows/s  ETA 3s`` (``done`` and
    ``total`` in bytes: the share read, from which the ETA follows)."""
    fraction = min(1.0, done / total) if total else 1.0
    filled = int(round(fraction * BAR_WIDTH))
    rate = rows / elapsed_s if elapsed_s > 0 else 0.0
    eta = f"ETA {elapsed_s * (total - done) / done:,.0f}s" if 0 < done < total else "ETA -"
    return (
        f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {rows:,} rows  {fraction * 100:5.1f}%"
        f"  {rate:,.0f} rows/s  {eta}"
    )


class ImportBar:
    """The ``progress`` callback of an import, drawn in place on a terminal."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.began = time.monotonic()
        self.drawn = 0.0

    def __call__(self, stage: str, done: int, total: int, rows: int) -> None:
        now = time.monotonic()
        if stage == "storing":
            line = import_progress_line(done, total, rows, now - self.began)
            self.stream.write(f"{line}\nstoring {rows:,} rows ...\n")
        elif now - self.drawn >= REDRAW_S:
            self.drawn = now
            self.stream.write(import_progress_line(done, total, rows, now - self.began) + "\r")
        else:
            return
        self.stream.flush()


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    import psycopg2

    from shelfops_alerts.intake import imports

    importer = getattr(imports, f"import_{args.kind.replace('-', '_')}")
    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    # A psycopg2 connection of its own, not SQLAlchemy's: loading SQLAlchemy would be most
    # of the command's start (about 0.45 CPU s), and an import needs nothing of it.
    try:
        connection = psycopg2.connect(libpq_url(settings.database_url.reveal()))
    except psycopg2.OperationalError as exc:
        raise CommandError(f"cannot connect to the database: {str(exc).strip()}") from exc
    try:
        progress = ImportBar() if sys.stderr.isatty() else None
        with connection:  # one transaction: committed at the end, rolled back on an error
            summary = importer(connection, path=path, progress=progress)
        if summary.settle and progress is not None:
            print(f"vacuuming {', '.join(summary.settle)} ...", file=sys.stderr, flush=True)
        try:
            imports.settle(connection, summary)
        except psycopg2.Error as exc:  # the rows are committed: autovacuum will come instead
            print(f"warning: VACUUM after the import failed: {exc}".strip(), file=sys.stderr)
    except imports.CsvImportError as exc:
        raise CommandError(f"{exc} (nothing of this file was imported)") from exc
    finally:
        connection.close()
    if args.json:
        print_json({"kind": args.kind, "rows": summary.rows, "customers": summary.customers})
    else:
        customers = len(summary.customers)
        print(f"imported {summary.rows} {args.kind} row(s) for {customers} customer(s)")
    return 0


def libpq_url(url: str) -> str:
    """The database URL as libpq reads it (without a SQLAlchemy driver name)."""
    scheme, sep, rest = url.partition("://")
    return scheme.split("+", 1)[0] + sep + rest if sep else url


def register(sub: Any) -> None:
    imp = sub.add_parser("import", help="load a CSV file with a header row")
    imp.add_argument("kind", choices=KINDS)
    imp.add_argument("file")
    add_json_flag(imp)
    imp.set_defaults(func=cmd_import)
