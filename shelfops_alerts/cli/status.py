"""``shelfops-alerts status``: health of everything; exits 1 while anything is down or behind."""

from __future__ import annotations

import argparse
from typing import Any

from shelfops_alerts.cli.common import add_json_flag, print_json
from shelfops_alerts.config import Settings


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.status import collect_status, format_status

    report = collect_status(settings)
    if args.json:
        print_json(report)
    else:
        print(format_status(report))
    return 0 if report["healthy"] else 1


def register(sub: Any) -> None:
    status = sub.add_parser("status", help="health of database, Redis, workers and queues")
    add_json_flag(status)
    status.set_defaults(func=cmd_status)
