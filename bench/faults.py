"""The fault suite: the real pipeline under faults, and one table (``make faults``).

    .venv/bin/python bench/faults.py [--skus 100000] [--quick] [--only NAME ...]

Starts its own PostgreSQL, Redis, SendGrid stand-in, ``celery -A workers`` alerts and email
workers and beat under a temporary folder (fault_stack.py), imports a synthetic catalogue,
then runs each scenario (fault_scenarios.py) on a clean pipeline:

* ``worker-kill``: SIGKILL of an alerts worker's pool process mid-sweep;
* ``redis-stall`` / ``postgres-stall``: the server SIGSTOPped for 10 s mid-sweep, then SIGCONT;
* ``postgres-restart``: PostgreSQL stopped (fast) mid-sweep and started again;
* ``provider-outage``: the mail provider answers 500 for 60 s, then 429 with a reset, then 202;
* ``producers-race``: 10 producers send forecast-complete events for the same SKUs at once;
* ``email-kill``: an email worker's pool process SIGKILLed after the provider accepted its
  mail but before it recorded ``sent`` (the documented at-least-once window).

The sweep scenarios sweep ``--skus`` SKUs; the others a catalogue a tenth of that size. What
each should find is computed from the stored data by the floor (the stockout rule as one SQL
statement), not from the pipeline. *Lost*: an expected alert not active once the pipeline is
idle (queues empty, nothing unacknowledged, every change published, every delivery sent or
failed). *Duplicated*: a second alert row for the same (customer, store, product, type), or
a second ``created`` for one alert. *Sent twice*: the provider accepted the same
(alert, recipient) more than once. Exit status 1 when any scenario lost or duplicated an
alert, missed or doubled a mail (outside ``email-kill``'s one allowed), or timed out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fault_scenarios import SCENARIOS, Result  # noqa: E402
from fault_stack import FaultStack  # noqa: E402
from harness import machine, note, table  # noqa: E402

HEADERS = (
    "scenario",
    "alerts expected",
    "found",
    "lost",
    "duplicated",
    "e-mails expected",
    "sent",
    "sent twice",
)
#: SKUs of the sweep scenarios, full and ``--quick``.
FULL_SKUS = 100_000
QUICK_SKUS = 10_000


def batch_size_for(skus: int) -> int:
    """About a hundred batches per sweep (at least 100 SKUs each), so a fault lands while
    many are in flight."""
    return max(100, skus // 100)


def row(result: Result) -> list[object]:
    t = result.tally
    return [
        result.name,
        f"{t.alerts_expected:,}",
        f"{t.found:,}",
        t.lost,
        t.duplicated,
        f"{t.emails_expected:,}",
        f"{t.sent:,}",
        t.sent_twice,
    ]


def report(results: list[Result]) -> str:
    """The table, then one line per scenario with its notes and problems."""
    lines = [table(HEADERS, [row(r) for r in results]), ""]
    for result in results:
        verdict = "FAIL" if result.failed else "ok"
        details = result.tally.problems + result.notes
        lines.append(f"- {verdict} {result.name}: " + "; ".join(details))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skus", type=int, help=f"SKUs swept (default {FULL_SKUS:,})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SKUS:,} SKUs")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="repeatable")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this folder")
    args = parser.parse_args(argv)
    skus = args.skus or (QUICK_SKUS if args.quick else FULL_SKUS)
    names = args.only or list(SCENARIOS)
    began = time.monotonic()
    load = os.getloadavg()[0]
    results: list[Result] = []
    note(f"starting the stack and importing {skus:,} + {max(skus // 10, 500):,} SKUs ...")
    with FaultStack(skus=skus, batch_size=batch_size_for(skus), keep_logs=args.logs) as stack:
        for name in names:
            note(f"scenario {name} ...")
            started = time.monotonic()
            result = SCENARIOS[name](stack)
            result.notes.append(f"{time.monotonic() - started:.0f} s")
            note(report([result]).splitlines()[-1])
            results.append(result)
            load = max(load, os.getloadavg()[0])
    seconds = time.monotonic() - began
    shared = ", 2 cores shared with other jobs" if load > 2 else ""
    print(f"\n{dt.date.today().isoformat()}; {machine()}; peak load average {load:.1f}{shared}")
    print(
        f"{skus:,} SKUs swept (batches of {batch_size_for(skus):,}),"
        f" {max(skus // 10, 500):,} in the mail and producer scenarios\n"
    )
    print(report(results))
    print(f"\ntotal wall time {seconds:.0f} s")
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
