"""The console script ``shelfops-alerts``: the user's door to the service.

One module per command group, each with a ``register(subparsers)``. Every command reads the
validated settings first (a bad one stops it, named), and every command that prints data
prints JSON with ``--json``. Exit codes: 0 done, 1 unhealthy (``status``), 2 refused.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from shelfops_alerts import logs
from shelfops_alerts.cli import (
    alerts,
    db,
    dead_letters,
    deliveries,
    dev,
    emit,
    imports,
    listen,
    metrics,
    probe,
    serve,
    silence,
    status,
    sweep,
    tokens,
)
from shelfops_alerts.cli.common import CommandError, in_flags
from shelfops_alerts.config import LOG_FORMATS, ConfigError, load_settings

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
    metrics,
    probe,
    tokens,
    serve,
    dev,
)
logger = logging.getLogger("shelfops_alerts.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shelfops-alerts", description="Inventory alerts from forecasts and stock levels."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def _log_format() -> str:
    # Before the settings are read (they may be what is wrong); load_settings validates it.
    wanted = os.environ.get("SHELFOPS_LOG_FORMAT", "").strip().lower()
    return wanted if wanted in LOG_FORMATS else "text"


def _refuse(exc: Exception, log_format: str) -> int:
    if log_format == "json":
        logger.error("refused: %s", exc)
    else:
        print(f"error: {exc}", file=sys.stderr)
    return EXIT_REFUSED


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log_format = _log_format()
    with logs.to_stderr(log_format) as handler, logs.fields(command=args.command):
        try:
            settings = load_settings() if getattr(args, "needs_settings", True) else None
            if settings is not None and settings.log_format != log_format:
                log_format = settings.log_format  # from a .env file
                logs.use_format(handler, log_format)
            return int(args.func(args, settings))
        except (ConfigError, CommandError) as exc:
            return _refuse(exc, log_format)
        except ValueError as exc:  # InvalidEvent, LifecycleError: bad input, nothing changed
            return _refuse(ValueError(in_flags(exc)), log_format)


if __name__ == "__main__":
    sys.exit(main())
