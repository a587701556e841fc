"""``shelfops-alerts import KIND FILE``: load a CSV file with a header row, all or nothing."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

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


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.intake import imports

    importer = getattr(imports, f"import_{args.kind.replace('-', '_')}")
    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    try:
        with session_factory(settings).begin() as session:
            summary = importer(session, path=path)
    except imports.CsvImportError as exc:
        raise CommandError(f"{exc} (nothing of this file was imported)") from exc
    if args.json:
        print_json({"kind": args.kind, "rows": summary.rows, "customers": summary.customers})
    else:
        customers = len(summary.customers)
        print(f"imported {summary.rows} {args.kind} row(s) for {customers} customer(s)")
    return 0


def register(sub: Any) -> None:
    imp = sub.add_parser("import", help="load a CSV file with a header row")
    imp.add_argument("kind", choices=KINDS)
    imp.add_argument("file")
    add_json_flag(imp)
    imp.set_defaults(func=cmd_import)
