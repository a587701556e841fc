"""Health of everything the service needs: database and migration level, Redis, workers
per queue, queue depths. ``healthy`` is false while any of them is down or behind.

The report also carries every figure the Prometheus metrics serve (``metrics``, by metric
name; see shelfops_alerts/metrics), read the same way, so ``status --json`` and a scrape
agree."""

from __future__ import annotations

from typing import Any

import redis
from sqlalchemy import text

from shelfops_alerts.config import Settings
from shelfops_alerts.sweeps.runs import format_sweep
from shelfops_alerts.vocabulary import QUEUES

#: Seconds to wait for workers to answer a ping.
INSPECT_TIMEOUT_S = 1.5


def _database(settings: Settings) -> dict[str, Any]:
    from shelfops_alerts import migrate
    from shelfops_alerts.db import get_engine

    try:
        with get_engine(settings).connect() as connection:
            connection.execute(text("SELECT 1"))
        current, head = migrate.current_revision(settings), migrate.head_revision(settings)
    except Exception as exc:  # any driver error means "down"; say which
        return {"ok": False, "error": str(exc).splitlines()[0]}
    behind = current != head
    return {
        "ok": not behind,
        "migration": current,
        "head": head,
        **({"error": "migrations behind: run `shelfops-alerts db upgrade`"} if behind else {}),
    }


def _workers(settings: Settings) -> dict[str, list[str]]:
    from shelfops_alerts.intake.client import _producer

    replies = _producer(settings.redis_url.reveal()).control.inspect(timeout=INSPECT_TIMEOUT_S)
    active = replies.active_queues() or {}
    per_queue: dict[str, list[str]] = {queue: [] for queue in QUEUES}
    for worker, queues in active.items():
        for queue in queues:
            per_queue.setdefault(queue["name"], []).append(worker)
    return per_queue


def _last_sweep(settings: Settings) -> dict[str, Any] | None:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.sweeps.runs import last_sweep

    try:
        with session_factory(settings)() as session:
            return last_sweep(session)
    except Exception:  # no sweeps table yet (migrations behind): nothing to show
        return None


def _dead_letters(settings: Settings) -> dict[str, Any] | None:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.dead_letters.store import count_parked

    try:
        with session_factory(settings)() as session:
            return {"parked": count_parked(session)}
    except Exception:  # no dead_letters table yet (migrations behind): nothing to show
        return None


def collect_status(settings: Settings) -> dict[str, Any]:
    """A JSON-able report; ``healthy`` is the verdict. ``last_sweep`` and ``dead_letters``
    are informative only: a parked message waits for an operator, while the service runs."""
    report: dict[str, Any] = {"database": _database(settings)}
    report["last_sweep"] = _last_sweep(settings) if report["database"]["ok"] else None
    report["dead_letters"] = _dead_letters(settings) if report["database"]["ok"] else None
    from shelfops_alerts.metrics import collect_figures

    figures = collect_figures(settings)
    report["metrics"] = figures.as_json()
    client = redis.Redis.from_url(settings.redis_url.reveal(), socket_timeout=2)
    try:
        client.ping()
        report["redis"] = {"ok": True}
        # As the broker holds them: every priority step of each queue.
        report["queues"] = {
            queue: int(figures.value("shelfops_queue_depth", queue) or 0) for queue in QUEUES
        }
        workers = _workers(settings)
        report["workers"] = {
            queue: {"ok": bool(workers.get(queue)), "workers": sorted(workers.get(queue, []))}
            for queue in QUEUES
        }
    except redis.RedisError as exc:
        report["redis"] = {"ok": False, "error": str(exc)}
        report["queues"] = {}
        report["workers"] = {queue: {"ok": False, "workers": []} for queue in QUEUES}
    report["healthy"] = (
        report["database"]["ok"]
        and report["redis"]["ok"]
        and all(entry["ok"] for entry in report["workers"].values())
    )
    return report


def format_status(report: dict[str, Any]) -> str:
    """The report as lines a person reads."""

    def mark(ok: bool) -> str:
        return "ok  " if ok else "DOWN"

    db = report["database"]
    lines = [
        f"{mark(db['ok'])} database  migration {db.get('migration')} (head {db.get('head')})"
        + (f"  {db['error']}" if db.get("error") else ""),
        f"{mark(report['redis']['ok'])} redis"
        + (f"  {report['redis']['error']}" if report["redis"].get("error") else ""),
    ]
    for queue, entry in report["workers"].items():
        depth = report["queues"].get(queue, "?")
        names = ", ".join(entry["workers"]) or "no workers"
        lines.append(f"{mark(entry['ok'])} queue {queue:<7} depth {depth:<6} {names}")
    sweep = report.get("last_sweep")
    lines.append(format_sweep(sweep) if sweep else "no sweep yet")
    parked = (report.get("dead_letters") or {}).get("parked")
    if parked:
        lines.append(f"{parked} dead letter(s) parked: see `shelfops-alerts dead-letters list`")
    lines.append("healthy" if report["healthy"] else "NOT healthy")
    return "\n".join(lines)
