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
    serve(settings, host=args.host, port=args.port)
    return 0


def register(sub: Any) -> None:
    from shelfops_alerts.metrics.exporter import DEFAULT_HOST, DEFAULT_PORT

    metrics = sub.add_parser(
        "metrics", help="serve the Prometheus metrics on /metrics until stopped"
    )
    metrics.add_argument("--host", default=DEFAULT_HOST, help=f"address (default {DEFAULT_HOST})")
    metrics.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    metrics.set_defaults(func=cmd_metrics)
