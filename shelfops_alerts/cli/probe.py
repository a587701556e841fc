"""``shelfops-alerts probe worker|beat|web|flower|metrics``: is this one service alive here?

Exit 0 when it is, 1 when it is not: a container health check for each service.
"""

from __future__ import annotations

import argparse
from typing import Any

from shelfops_alerts.cli.common import add_json_flag, print_json
from shelfops_alerts.config import Settings, load_settings

SERVICES = ("worker", "beat", "web", "flower", "metrics")


def cmd_probe(args: argparse.Namespace, settings: Settings | None) -> int:
    from shelfops_alerts.health import probes

    if args.service == "worker":
        result = probes.probe_worker(settings or load_settings(), name=args.name)
    elif args.service == "beat":
        result = probes.probe_beat(settings or load_settings())
    else:
        result = probes.probe_http(args.service, port=args.port, host=args.host)
    if args.json:
        print_json(result.to_json())
    else:
        print(("ok    " if result.ok else "DOWN  ") + result.detail)
    return 0 if result.ok else 1


def register(sub: Any) -> None:
    probe = sub.add_parser("probe", help="check one service on this host (exit 1 when it is down)")
    probe.add_argument("service", choices=SERVICES)
    probe.add_argument(
        "--name",
        default="alerts",
        help="worker: the node name before @ (as -n NAME@%%h), or a whole NAME@HOST",
    )
    probe.add_argument("--port", type=int, help="web, flower, metrics: port (their default)")
    probe.add_argument("--host", default="127.0.0.1", help="web, flower, metrics: address")
    add_json_flag(probe)
    # HTTP probes need no settings; worker and beat read them (a bad one is exit 2).
    probe.set_defaults(func=cmd_probe, needs_settings=False)
