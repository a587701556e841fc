"""``shelfops-alerts db upgrade``: apply migrations (running it twice is harmless)."""

from __future__ import annotations

import argparse
from typing import Any

from shelfops_alerts.config import Settings


def cmd_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts import migrate

    level = migrate.upgrade(settings)
    print(f"database at migration {level} (head)")
    return 0


def register(sub: Any) -> None:
    db = sub.add_parser("db", help="database migrations").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply migrations (harmless to repeat)").set_defaults(
        func=cmd_upgrade
    )
