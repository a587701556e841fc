"""``shelfops-alerts deliveries list|retry``: what operators do with e-mail deliveries."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from shelfops_alerts.cli.common import add_json_flag, print_json
from shelfops_alerts.cli.table import print_table
from shelfops_alerts.config import Settings
from shelfops_alerts.vocabulary import DELIVERY_STATUSES, EMAIL_QUEUE, SEND_EMAIL_TASK


def cmd_deliveries_list(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.notify.deliveries import list_deliveries

    with session_factory(settings)() as session:
        found = list_deliveries(
            session, status=args.status, customer_id=args.customer, limit=args.limit
        )
    if args.json:
        print_json(found)
        return 0
    if not found:
        print("no deliveries")
        return 0
    print_table(
        ("ID", "STATUS", "TRIES", "ALERT", "DIGEST", "CUSTOMER", "RECIPIENT", "LAST ERROR"),
        [
            (
                d["id"],
                d["status"],
                d["attempts"],
                d["alert_id"],
                d["digest_id"],
                d["customer_id"],
                d["recipient"],
                d["last_error"],
            )
            for d in found
        ],
        right={"ID", "TRIES", "ALERT", "DIGEST"},
    )
    return 0


def cmd_deliveries_retry(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.intake.client import _producer
    from shelfops_alerts.notify.deliveries import requeue_failed

    with session_factory(settings).begin() as session:
        done = requeue_failed(session, delivery_ids=list(dict.fromkeys(args.ids)))
    producer = _producer(settings.redis_url.reveal())
    for delivery_id in done.requeued:  # queued only after the commit
        producer.send_task(
            SEND_EMAIL_TASK, args=[delivery_id], queue=EMAIL_QUEUE, ignore_result=True
        )
    if args.json:
        print_json({"requeued": done.requeued, "refused": done.refused})
    else:
        for delivery_id in done.requeued:
            print(f"delivery {delivery_id} queued again")
        for reason in done.refused.values():
            print(f"error: {reason}", file=sys.stderr)
    # Exit 2 (refused) when any id was refused; the others were still queued.
    return 2 if done.refused else 0


def register(sub: Any) -> None:
    deliveries = sub.add_parser(
        "deliveries", help="list e-mail deliveries and retry failed ones"
    ).add_subparsers(dest="action", required=True)
    ls = deliveries.add_parser("list", help="list deliveries, newest first")
    ls.add_argument("--status", choices=DELIVERY_STATUSES)
    ls.add_argument("--customer")
    ls.add_argument("--limit", type=int, default=100)
    add_json_flag(ls)
    ls.set_defaults(func=cmd_deliveries_list)
    retry = deliveries.add_parser(
        "retry", help="put failed deliveries back to pending and queue them"
    )
    retry.add_argument("ids", type=int, nargs="+", metavar="ID")
    add_json_flag(retry)
    retry.set_defaults(func=cmd_deliveries_retry)
