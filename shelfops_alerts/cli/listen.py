"""``shelfops-alerts listen --customer C``: print each live alert change as a JSON line."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from shelfops_alerts.config import Settings


def cmd_listen(args: argparse.Namespace, settings: Settings) -> int:
    import redis

    from shelfops_alerts.publish.changes import channel_for

    pubsub = redis.Redis.from_url(settings.redis_url.reveal()).pubsub(
        ignore_subscribe_messages=True
    )
    pubsub.subscribe(channel_for(args.customer))
    print(f"listening on {channel_for(args.customer)} (Ctrl-C to stop)", file=sys.stderr)
    try:
        for message in pubsub.listen():
            data = message["data"]
            print(data.decode() if isinstance(data, bytes) else data, flush=True)
    except KeyboardInterrupt:
        pass
    return 0


def register(sub: Any) -> None:
    listen = sub.add_parser("listen", help="print live alert changes as JSON lines")
    listen.add_argument("--customer", required=True)
    listen.set_defaults(func=cmd_listen)
