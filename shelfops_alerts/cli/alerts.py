"""``shelfops-alerts alerts list|show|ack|resolve``: what operators do with alerts."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from shelfops_alerts.cli.common import add_json_flag, print_json
from shelfops_alerts.cli.table import print_table
from shelfops_alerts.config import Settings
from shelfops_alerts.vocabulary import (
    ACK_OUTCOMES,
    ALERT_STATUSES,
    ALERT_TYPES,
    RESOLVED,
    SEVERITIES,
)


def _status_label(alert: dict[str, Any]) -> str:
    # A resolved alert keeps the silence its last finding matched; only active ones say so.
    if alert["silenced"] and alert["status"] != RESOLVED:
        return f"{alert['status']} (silenced)"
    return str(alert["status"])


def cmd_alerts_list(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.alerts.actions import alert_json, list_alerts
    from shelfops_alerts.db import session_factory

    with session_factory(settings)() as session:
        alerts = [
            alert_json(a)
            for a in list_alerts(
                session,
                customer_id=args.customer,
                status=args.status,
                alert_type=args.type,
                severity=args.severity,
                store_id=args.store,
                product_id=args.product,
                silenced=args.silenced,
                limit=args.limit,
            )
        ]
    if args.json:
        print_json(alerts)
        return 0
    if not alerts:
        print("no alerts")
        return 0
    print_table(
        ("ID", "SEVERITY", "STATUS", "TYPE", "CUSTOMER", "SKU", "MESSAGE"),
        [
            (
                a["alert_id"],
                a["severity"],
                _status_label(a),
                a["alert_type"],
                a["customer_id"],
                f"{a['store_id']}/{a['product_id']}",
                a["message"],
            )
            for a in alerts
        ],
        right={"ID"},
    )
    return 0


def cmd_alerts_show(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.alerts.actions import show_alert
    from shelfops_alerts.db import session_factory

    with session_factory(settings)() as session:
        alert = show_alert(session, alert_id=args.id)
    if args.json:
        print_json(alert)
        return 0
    print(f"alert {alert['alert_id']}: {alert['alert_type']} {alert['severity']}")
    print(f"  status     {_status_label(alert)}")
    print(f"  sku        {alert['customer_id']} {alert['store_id']}/{alert['product_id']}")
    print(f"  message    {alert['message']}")
    if alert["acknowledged_by"]:
        outcome = alert["acknowledged_outcome"] or "-"
        print(f"  acked by   {alert['acknowledged_by']} at {alert['acknowledged_at']}")
        print(f"  outcome    {outcome}; note: {alert['acknowledged_note'] or '-'}")
    if "inhibited_by" in alert["metadata"]:
        print(f"  inhibited  {alert['metadata'].get('inhibition')}")
    print("  history:")
    print_table(
        ("CHANGED", "EVENT", "SEVERITY", "STATUS", "BY", "NOTE"),
        [
            (
                change["changed_at"],
                change["event"],
                change["severity"],
                change["status"],
                change["actor"],
                "  ".join(
                    text
                    for text in (
                        change["note"] or "",
                        f"outcome={change['outcome']}" if change["outcome"] else "",
                        "silenced" if change["silenced"] else "",
                    )
                    if text
                ),
            )
            for change in alert["history"]
        ],
        indent="    ",
    )
    return 0


def _alert_transition(
    args: argparse.Namespace, settings: Settings, action: Callable[..., Any], **extra: Any
) -> int:
    import redis

    from shelfops_alerts.alerts.operations import act_and_publish
    from shelfops_alerts.db import session_factory

    done = act_and_publish(
        session_factory(settings),
        redis.Redis.from_url(settings.redis_url.reveal()),
        action,
        alert_id=args.id,
        stream_maxlen=settings.stream_maxlen,
        actor=args.by,
        note=args.note,
        **extra,
    )
    if args.json:
        print_json({"alert_id": done.alert_id, "status": done.status})
    else:
        print(f"alert {done.alert_id} {done.status} by {args.by}")
    return 0


def cmd_alerts_ack(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.alerts.actions import acknowledge

    return _alert_transition(args, settings, acknowledge, outcome=args.outcome)


def cmd_alerts_resolve(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.alerts.actions import resolve

    return _alert_transition(args, settings, resolve)


def register(sub: Any) -> None:
    alerts = sub.add_parser("alerts", help="list and act on alerts").add_subparsers(
        dest="action", required=True
    )
    ls = alerts.add_parser("list", help="list alerts, newest change first")
    ls.add_argument("--customer")
    ls.add_argument("--status", choices=ALERT_STATUSES)
    ls.add_argument("--type", choices=ALERT_TYPES)
    ls.add_argument("--severity", choices=SEVERITIES)
    ls.add_argument("--store")
    ls.add_argument("--product")
    muted = ls.add_mutually_exclusive_group()
    muted.add_argument("--silenced", action="store_true", default=None, help="only silenced")
    muted.add_argument(
        "--not-silenced", dest="silenced", action="store_false", help="only not silenced"
    )
    ls.add_argument("--limit", type=int, default=1000)
    add_json_flag(ls)
    ls.set_defaults(func=cmd_alerts_list)

    show = alerts.add_parser("show", help="print one alert with its history")
    show.add_argument("id", type=int)
    add_json_flag(show)
    show.set_defaults(func=cmd_alerts_show)

    for name, func, helptext in (
        ("ack", cmd_alerts_ack, "acknowledge an open alert"),
        ("resolve", cmd_alerts_resolve, "resolve an alert by hand"),
    ):
        act = alerts.add_parser(name, help=helptext)
        act.add_argument("id", type=int)
        act.add_argument("--by", required=True, help="who is acting")
        act.add_argument("--note")
        if name == "ack":
            act.add_argument("--outcome", choices=ACK_OUTCOMES, help="what was done about it")
        add_json_flag(act)
        act.set_defaults(func=func)
