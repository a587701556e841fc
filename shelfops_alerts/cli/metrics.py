"""``shelfops-alerts metrics``: the standalone Prometheus exporter (``/metrics``)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from shelfops_alerts.config import Settings


def cmd_metrics(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.metrics import serve

    # A long-running service: its own lines (where it listens) are worth logging.
    logging.getLogger().setLevel(logging.INFO)
    given: dict[str, Any] = {"host": args.host, "port": args.port}
    serve(settings, **{name: value for name, value in given.items() if value is not None})
    return 0


def register(sub: Any) -> None:
    # The defaults are serve()'s own: importing the metrics package here would make every
    # command (an import of a file included) pay for loading it at start.
    metrics = sub.add_parser(
        "metrics", help="serve the Prometheus metrics on /metrics until stopped"
    )
    metrics.add_argument("--host", help="address (default: the loopback address)")
    metrics.add_argument("--port", type=int, help="port (default: the exporter's, 9808)")
    metrics.set_defaults(func=cmd_metrics)
