"""The console script ``shelfops-alerts``: the user's door to the service.

One module per command group, each with a ``register(subparsers)``. Every command reads the
validated settings first (a bad one stops it, named), and every command that prints data
prints JSON with ``--json``. Exit codes: 0 done, 1 unhealthy (``status``), 2 refused.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from shelfops_alerts.cli import (
    alerts,
    db,
    dead_letters,
    deliveries,
    dev,
    emit,
    imports,
    listen,
    silence,
    status,
    sweep,
)
from shelfops_alerts.cli.common import CommandError, in_flags
from shelfops_alerts.config import ConfigError, load_settings

EXIT_REFUSED = 2
COMMAND_MODULES = (
    db,
    imports,
    emit,
    alerts,
    deliveries,
    dead_letters,
    silence,
    listen,
    sweep,
    status,
    dev,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shelfops-alerts", description="Inventory alerts from forecasts and stock levels."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings() if getattr(args, "needs_settings", True) else None
        return int(args.func(args, settings))
    except (ConfigError, CommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except ValueError as exc:  # InvalidEvent, LifecycleError: bad input, nothing changed
        print(f"error: {in_flags(exc)}", file=sys.stderr)
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
