"""``shelfops-alerts alerts list|ack|resolve``: what operators do with alerts."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from shelfops_alerts.cli.common import add_json_flag, print_json
from shelfops_alerts.config import Settings
from shelfops_alerts.models import ALERT_TYPES, STATUSES


def cmd_alerts_list(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.alert_actions import alert_json, list_alerts
    from shelfops_alerts.db import session_factory

    with session_factory(settings)() as session:
        alerts = [
            alert_json(a)
            for a in list_alerts(
                session,
                customer_id=args.customer,
                status=args.status,
                alert_type=args.type,
                limit=args.limit,
            )
        ]
    if args.json:
        print_json(alerts)
        return 0
    if not alerts:
        print("no alerts")
        return 0
    print(f"{'ID':>6}  {'SEVERITY':<8}  {'STATUS':<12}  {'CUSTOMER':<10}  {'SKU':<20}  MESSAGE")
    for a in alerts:
        sku = f"{a['store_id']}/{a['product_id']}"
        print(
            f"{a['alert_id']:>6}  {a['severity']:<8}  {a['status']:<12}  "
            f"{a['customer_id']:<10}  {sku:<20}  {a['message']}"
        )
    return 0


def _alert_transition(
    args: argparse.Namespace, settings: Settings, action: Callable[..., Any]
) -> int:
    import redis

    from shelfops_alerts.db import session_factory
    from shelfops_alerts.publish import load_changes, mark_published, publish_changes

    factory = session_factory(settings)
    with factory.begin() as session:
        done = action(session, alert_id=args.id, actor=args.by, note=args.note)
    with factory.begin() as session:
        publish_changes(
            redis.Redis.from_url(settings.redis_url),
            load_changes(session, history_ids=[done.history_id]),
        )
        mark_published(session, history_ids=[done.history_id])
    if args.json:
        print_json({"alert_id": done.alert_id, "status": done.status})
    else:
        print(f"alert {done.alert_id} {done.status} by {args.by}")
    return 0


def cmd_alerts_ack(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.alert_actions import acknowledge

    return _alert_transition(args, settings, acknowledge)


def cmd_alerts_resolve(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.alert_actions import resolve

    return _alert_transition(args, settings, resolve)


def register(sub: Any) -> None:
    alerts = sub.add_parser("alerts", help="list and act on alerts").add_subparsers(
        dest="action", required=True
    )
    ls = alerts.add_parser("list", help="list alerts, newest change first")
    ls.add_argument("--customer")
    ls.add_argument("--status", choices=STATUSES)
    ls.add_argument("--type", choices=ALERT_TYPES)
    ls.add_argument("--limit", type=int, default=1000)
    add_json_flag(ls)
    ls.set_defaults(func=cmd_alerts_list)
    for name, func, helptext in (
        ("ack", cmd_alerts_ack, "acknowledge an open alert"),
        ("resolve", cmd_alerts_resolve, "resolve an alert by hand"),
    ):
        act = alerts.add_parser(name, help=helptext)
        act.add_argument("id", type=int)
        act.add_argument("--by", required=True, help="who is acting")
        act.add_argument("--note")
        add_json_flag(act)
        act.set_defaults(func=func)
