"""``shelfops-alerts serve [--host H] [--port P]``: the web service (see shelfops_alerts.web)."""

from __future__ import annotations

import argparse
from typing import Any

from shelfops_alerts.config import Settings


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.web.server import serve

    serve(settings, host=args.host, port=args.port, access_log=not args.no_access_log)
    return 0


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run the web service: API, stream, dashboard")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-access-log", action="store_true", help="do not log each request")
    serve.set_defaults(func=cmd_serve)
