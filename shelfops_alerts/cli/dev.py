"""``shelfops-alerts dev``: the whole stack on this machine (see shelfops_alerts.stack.dev)."""

from __future__ import annotations

import argparse
from typing import Any

from shelfops_alerts.config import Settings


def cmd_dev(args: argparse.Namespace, settings: Settings | None) -> int:
    from shelfops_alerts.stack.dev import run_dev

    return run_dev(with_demo=not args.no_demo, flower_port=args.flower_port, web_port=args.web_port)


def register(sub: Any) -> None:
    dev = sub.add_parser("dev", help="run the whole stack on this machine")
    dev.add_argument("--no-demo", action="store_true", help="start without demo data")
    dev.add_argument("--flower-port", type=int, default=5555)
    dev.add_argument("--web-port", type=int, default=8000, help="port of the web service")
    dev.set_defaults(func=cmd_dev, needs_settings=False)
