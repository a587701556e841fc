"""``shelfops-alerts emit EVENT``: send an event to the pipeline, as a producer would."""

from __future__ import annotations

import argparse
from typing import Any

from shelfops_alerts.cli.common import add_json_flag, print_json
from shelfops_alerts.config import Settings


def cmd_forecast_complete(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.intake.client import notify_forecast_complete

    task_id = notify_forecast_complete(args.customer, args.run, args.sku, settings=settings)
    if args.json:
        print_json({"task_id": task_id, "event": "forecast-complete", "customer_id": args.customer})
    else:
        print(f"queued forecast-complete for {args.customer} (task {task_id})")
    return 0


def cmd_sales_recorded(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.intake.client import notify_sales_recorded

    task_id = notify_sales_recorded(args.customer, args.sku, settings=settings)
    if args.json:
        print_json({"task_id": task_id, "event": "sales-recorded", "customer_id": args.customer})
    else:
        print(f"queued sales-recorded for {args.customer} (task {task_id})")
    return 0


def register(sub: Any) -> None:
    emit = sub.add_parser("emit", help="send an event").add_subparsers(dest="event", required=True)
    fc = emit.add_parser("forecast-complete", help="a forecasting run finished")
    fc.add_argument("--customer", required=True)
    fc.add_argument("--sku", action="append", metavar="STORE/PRODUCT", help="repeatable")
    fc.add_argument("--run", help="the forecasting run id")
    add_json_flag(fc)
    fc.set_defaults(func=cmd_forecast_complete)
    sr = emit.add_parser(
        "sales-recorded", help="actual sales were imported: check anomalies and accuracy"
    )
    sr.add_argument("--customer", required=True)
    sr.add_argument("--sku", action="append", metavar="STORE/PRODUCT", help="repeatable")
    add_json_flag(sr)
    sr.set_defaults(func=cmd_sales_recorded)
