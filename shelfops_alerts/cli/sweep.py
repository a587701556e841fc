"""``shelfops-alerts sweep [--customer C] [--wait]``: start a sweep now, and watch it.

The sweep runs on the workers (``shelfops.sweep_all_skus``, sent by name); with ``--wait``
this command follows the sweep's row and draws a progress bar on stderr (SKUs checked of
the total, rate, ETA) until the last batch is published, then prints the summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from shelfops_alerts.cli.common import CommandError, add_json_flag, print_json
from shelfops_alerts.config import Settings
from shelfops_alerts.vocabulary import FINISHED, RUNNING, SWEEP_TASK

#: Seconds between two looks at the sweep's progress.
POLL_S = 0.5
BAR_WIDTH = 30


def progress_line(done: int, total: int, elapsed_s: float, *, unit: str = "SKUs") -> str:
    """``[#####.....] 4,000/10,000 SKUs  40.0%  2,000/s  ETA 3s`` (total 0 counts as done)."""
    fraction = min(1.0, done / total) if total else 1.0
    filled = int(round(fraction * BAR_WIDTH))
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    eta = f"ETA {(total - done) / rate:,.0f}s" if rate > 0 and done < total else "ETA -"
    return (
        f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done:,}/{total:,} {unit}"
        f"  {fraction * 100:5.1f}%  {rate:,.0f}/s  {eta}"
    )


def draw(line: str, stream: TextIO = sys.stderr) -> None:
    """Redraw one progress line in place (on a terminal), or print it (to a log)."""
    end = "\r" if stream.isatty() else "\n"
    stream.write(line + end)
    stream.flush()


def _outcome(settings: Settings, task_id: str) -> dict[str, Any]:
    import redis

    from shelfops_alerts.sweeps.lock import OUTCOME_KEY

    client = redis.Redis.from_url(settings.redis_url.reveal())
    waited = 0.0
    while True:
        raw = client.get(OUTCOME_KEY.format(task_id))
        if raw is not None:
            outcome: dict[str, Any] = json.loads(raw)
            return outcome
        if waited == 10.0:
            print("waiting for an alerts worker to start the sweep ...", file=sys.stderr)
        time.sleep(POLL_S)
        waited += POLL_S


def _follow(settings: Settings, sweep_id: int, *, quiet: bool) -> dict[str, Any]:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.sweeps.runs import sweep_by_id

    factory = session_factory(settings)
    began = time.monotonic()
    while True:
        with factory() as session:
            sweep = sweep_by_id(session, sweep_id=sweep_id)
        if sweep is None:
            raise CommandError(f"sweep #{sweep_id} disappeared from the database")
        if not quiet:
            draw(
                progress_line(sweep["skus_checked"], sweep["skus_total"], time.monotonic() - began)
            )
        if sweep["status"] != RUNNING:
            if not quiet and sys.stderr.isatty():
                sys.stderr.write("\n")
            return sweep
        time.sleep(POLL_S)


def cmd_sweep(args: argparse.Namespace, settings: Settings) -> int:
    import redis

    from shelfops_alerts.intake.client import send_event
    from shelfops_alerts.sweeps.lock import lock_holder
    from shelfops_alerts.sweeps.runs import format_sweep

    holder = lock_holder(redis.Redis.from_url(settings.redis_url.reveal()))
    if holder is not None:
        raise CommandError(f"a sweep is already running (task {holder}); wait for it to finish")
    payload = {"customer_id": args.customer} if args.customer else {}
    task_id = send_event(SWEEP_TASK, payload, settings=settings)
    if not args.wait:
        if args.json:
            print_json({"task_id": task_id, "customer_id": args.customer})
        else:
            print(f"queued a sweep of {args.customer or 'all customers'} (task {task_id})")
        return 0
    outcome = _outcome(settings, task_id)
    if outcome["status"] == "refused":
        raise CommandError(f"refused: a sweep is already running (task {outcome['holder']})")
    sweep = _follow(settings, int(outcome["sweep_id"]), quiet=args.json)
    if args.json:
        print_json(sweep)
    else:
        print(format_sweep(sweep))
    return 0 if sweep["status"] == FINISHED else 1


def register(sub: Any) -> None:
    sweep = sub.add_parser("sweep", help="check every SKU now (or one customer's)")
    sweep.add_argument("--customer", help="only this customer's SKUs")
    sweep.add_argument(
        "--wait", action="store_true", help="show progress until it finishes, then the summary"
    )
    add_json_flag(sweep)
    sweep.set_defaults(func=cmd_sweep)
