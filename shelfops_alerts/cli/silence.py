"""``shelfops-alerts silence add|list|expire``: mute matching findings for a while."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from shelfops_alerts.cli.common import add_json_flag, print_json
from shelfops_alerts.cli.table import print_table
from shelfops_alerts.config import Settings
from shelfops_alerts.vocabulary import ALERT_TYPES


def cmd_silence_add(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.alerts.lifecycle import parse_until
    from shelfops_alerts.alerts.silences import add_silence, silence_json
    from shelfops_alerts.db import session_factory

    until = parse_until(args.until, now=dt.datetime.now(dt.UTC))
    with session_factory(settings).begin() as session:
        silence = silence_json(
            add_silence(
                session,
                customer_id=args.customer,
                store_id=args.store,
                product_id=args.product,
                alert_type=args.type,
                until=until,
                created_by=args.by,
                reason=args.reason,
            )
        )
    if args.json:
        print_json(silence)
    else:
        print(f"silence {silence['silence_id']} until {silence['ends_at']}: {_scope(silence)}")
    return 0


def _scope(silence: dict[str, Any]) -> str:
    parts = [
        f"{name}={silence[key]}"
        for name, key in (("store", "store_id"), ("product", "product_id"), ("type", "alert_type"))
        if silence[key]
    ]
    return f"customer={silence['customer_id']} " + (" ".join(parts) or "(every alert)")


def cmd_silence_list(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.alerts.silences import list_silences, silence_json
    from shelfops_alerts.db import session_factory

    with session_factory(settings)() as session:
        found = [
            silence_json(s)
            for s in list_silences(session, customer_id=args.customer, include_ended=args.all)
        ]
    if args.json:
        print_json(found)
        return 0
    if not found:
        print("no silences")
        return 0
    print_table(
        ("ID", "ACTIVE", "UNTIL", "BY", "SCOPE / REASON"),
        [
            (
                s["silence_id"],
                "yes" if s["active"] else "no",
                s["ends_at"],
                s["created_by"],
                f"{_scope(s)} / {s['reason']}",
            )
            for s in found
        ],
        right={"ID"},
    )
    return 0


def cmd_silence_expire(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.alerts.silences import expire_silence
    from shelfops_alerts.db import session_factory

    with session_factory(settings).begin() as session:
        expire_silence(session, silence_id=args.id, actor=args.by)
    if args.json:
        print_json({"silence_id": args.id, "expired": True})
    else:
        print(f"silence {args.id} expired by {args.by}")
    return 0


def register(sub: Any) -> None:
    silence = sub.add_parser("silence", help="mute matching alerts for a while").add_subparsers(
        dest="action", required=True
    )
    add = silence.add_parser("add", help="silence a customer's matching findings until TIME")
    add.add_argument("--customer", required=True)
    add.add_argument("--store")
    add.add_argument("--product")
    add.add_argument("--type", choices=ALERT_TYPES)
    add.add_argument("--until", required=True, help="ISO 8601 time (UTC if no offset) or 2h, 3d")
    add.add_argument("--by", required=True, help="who is silencing")
    add.add_argument("--reason", required=True, help="why (shown to other operators)")
    add_json_flag(add)
    add.set_defaults(func=cmd_silence_add)

    ls = silence.add_parser("list", help="silences in force (all with --all)")
    ls.add_argument("--customer")
    ls.add_argument("--all", action="store_true", help="include ended and expired silences")
    add_json_flag(ls)
    ls.set_defaults(func=cmd_silence_list)

    expire = silence.add_parser("expire", help="end a silence now")
    expire.add_argument("id", type=int)
    expire.add_argument("--by", required=True, help="who is expiring it")
    add_json_flag(expire)
    expire.set_defaults(func=cmd_silence_expire)
