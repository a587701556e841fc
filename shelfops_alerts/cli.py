"""The console script ``shelfops-alerts``: the user's door to the service.

Every command reads the validated settings first (a bad one stops it with its name), and
every command that prints data prints JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from shelfops_alerts.config import ConfigError, Settings, load_settings

EXIT_USAGE = 2


class CommandError(Exception):
    """A command could not do what was asked; the message says why."""


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts import migrate

    level = migrate.upgrade(settings)
    print(f"database at migration {level} (head)")
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts import imports
    from shelfops_alerts.db import session_factory

    importer = {
        "inventory": imports.import_inventory,
        "forecasts": imports.import_forecasts,
        "recipients": imports.import_recipients,
    }[args.kind]
    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    try:
        with session_factory(settings).begin() as session:
            summary = importer(session, path=path)
    except imports.CsvImportError as exc:
        raise CommandError(f"{exc} (nothing of this file was imported)") from exc
    if args.json:
        _print_json({"kind": args.kind, "rows": summary.rows, "customers": summary.customers})
    else:
        print(
            f"imported {summary.rows} {args.kind} row(s) for {len(summary.customers)} customer(s)"
        )
    return 0


def cmd_emit(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.client import notify_forecast_complete

    task_id = notify_forecast_complete(args.customer, args.run, args.sku, settings=settings)
    if args.json:
        _print_json(
            {"task_id": task_id, "event": "forecast-complete", "customer_id": args.customer}
        )
    else:
        print(f"queued forecast-complete for {args.customer} (task {task_id})")
    return 0


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
        _print_json(alerts)
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
        _print_json({"alert_id": done.alert_id, "status": done.status})
    else:
        print(f"alert {done.alert_id} {done.status} by {args.by}")
    return 0


def cmd_alerts_ack(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.alert_actions import acknowledge

    return _alert_transition(args, settings, acknowledge)


def cmd_alerts_resolve(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.alert_actions import resolve

    return _alert_transition(args, settings, resolve)


def cmd_listen(args: argparse.Namespace, settings: Settings) -> int:
    import redis

    from shelfops_alerts.publish import channel_for

    pubsub = redis.Redis.from_url(settings.redis_url).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel_for(args.customer))
    print(f"listening on {channel_for(args.customer)} (Ctrl-C to stop)", file=sys.stderr)
    try:
        for message in pubsub.listen():
            data = message["data"]
            print(data.decode() if isinstance(data, bytes) else data, flush=True)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from shelfops_alerts.status import collect_status, format_status

    report = collect_status(settings)
    if args.json:
        _print_json(report)
    else:
        print(format_status(report))
    return 0 if report["healthy"] else 1


def cmd_dev(args: argparse.Namespace, settings: Settings | None) -> int:
    from shelfops_alerts.dev import run_dev

    return run_dev(with_demo=not args.no_demo, flower_port=args.flower_port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shelfops-alerts", description="Inventory alerts from forecasts and stock levels."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database migrations").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply migrations (harmless to repeat)").set_defaults(
        func=cmd_db_upgrade
    )

    imp = sub.add_parser("import", help="load a CSV file with a header row")
    imp.add_argument("kind", choices=["inventory", "forecasts", "recipients"])
    imp.add_argument("file")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=cmd_import)

    emit = sub.add_parser("emit", help="send an event").add_subparsers(dest="event", required=True)
    fc = emit.add_parser("forecast-complete", help="a forecasting run finished")
    fc.add_argument("--customer", required=True)
    fc.add_argument("--sku", action="append", metavar="STORE/PRODUCT", help="repeatable")
    fc.add_argument("--run", help="the forecasting run id")
    fc.add_argument("--json", action="store_true")
    fc.set_defaults(func=cmd_emit)

    alerts = sub.add_parser("alerts", help="list and act on alerts").add_subparsers(
        dest="action", required=True
    )
    ls = alerts.add_parser("list", help="list alerts, newest change first")
    ls.add_argument("--customer")
    ls.add_argument("--status", choices=["open", "acknowledged", "resolved"])
    ls.add_argument(
        "--type",
        choices=[
            "stockout_predicted",
            "anomaly_detected",
            "reorder_recommended",
            "forecast_accuracy_low",
        ],
    )
    ls.add_argument("--limit", type=int, default=1000)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_alerts_list)
    for name, func, helptext in (
        ("ack", cmd_alerts_ack, "acknowledge an open alert"),
        ("resolve", cmd_alerts_resolve, "resolve an alert by hand"),
    ):
        act = alerts.add_parser(name, help=helptext)
        act.add_argument("id", type=int)
        act.add_argument("--by", required=True, help="who is acting")
        act.add_argument("--note")
        act.add_argument("--json", action="store_true")
        act.set_defaults(func=func)

    listen = sub.add_parser("listen", help="print live alert changes as JSON lines")
    listen.add_argument("--customer", required=True)
    listen.set_defaults(func=cmd_listen)

    status = sub.add_parser("status", help="health of database, Redis, workers and queues")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    dev = sub.add_parser("dev", help="run the whole stack on this machine")
    dev.add_argument("--no-demo", action="store_true", help="start without demo data")
    dev.add_argument("--flower-port", type=int, default=5555)
    dev.set_defaults(func=cmd_dev, needs_settings=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings() if getattr(args, "needs_settings", True) else None
        return int(args.func(args, settings))
    except (ConfigError, CommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # InvalidEvent, AlertActionError: bad input, nothing changed
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
