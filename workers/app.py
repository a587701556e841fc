"""Builds the one Celery app: settings, queues and routes, beat schedule, task modules.

Settings are read and validated at import, so a worker with a bad setting stops at start
with a message naming the variable. They are held beside the app (``app.shelfops_settings``),
not in its Celery configuration: ``celery inspect conf`` and Flower's worker Config tab print
that configuration, and the broker URL in it is masked by Celery itself.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init
from kombu import Queue

from shelfops_alerts.config import Settings, load_settings
from shelfops_alerts.db import dispose_engines
from shelfops_alerts.health.presence import REFRESH_S
from shelfops_alerts.outages.postgres import guard_waits
from shelfops_alerts.outages.redis_clients import redis_options
from shelfops_alerts.outages.time_limits import TIME_LIMITS, celery_annotations
from shelfops_alerts.stack.garbage import tune_collector
from shelfops_alerts.vocabulary import ALERTS_QUEUE, EMAIL_QUEUE
from workers import broker, logs
from workers.events import CoalescedEvents
from workers.presence import Presence
from workers.redeliveries import CountedTask
from workers.routing import TASK_ROUTES
from workers.schedule import beat_schedule
from workers.warm_start import warm_up_in_background

TASK_MODULES = [
    "workers.tasks.events",
    "workers.tasks.checks",
    "workers.tasks.persist",
    "workers.tasks.publish",
    "workers.tasks.email",
    "workers.tasks.digest",
    "workers.tasks.relay",
    "workers.tasks.sweep",
    "workers.tasks.prune",
]


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings; JSON only, late acks, no result backend (nothing reads results)."""
    return {
        "broker_url": settings.redis_url.reveal(),
        "broker_connection_retry_on_startup": True,
        # Redis redelivers an unacknowledged message after this long; it must exceed the
        # longest countdown a retry uses, or a retrying task runs twice.
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout_s,
            # How often each worker looks for messages whose holder died; kombu's default
            # sweep (10 s x throttle 10) would leave them for over a minute and a half.
            "unacked_restore_interval": max(1, min(60, settings.visibility_timeout_s // 10)),
            "unacked_restore_throttle": 1,
            # A stalled or half-open broker connection fails instead of hanging the worker.
            **redis_options(settings.redis_timeout_s),
        },
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # Each task kind's limits (outages/time_limits.py); a task not listed gets the longest.
        "task_annotations": celery_annotations(),
        "task_soft_time_limit": max(limit.soft_s for limit in TIME_LIMITS.values()),
        "task_time_limit": max(limit.hard_s for limit in TIME_LIMITS.values()),
        # A child that grew past this (a leak, or one unusually large task) is replaced once
        # its task is done; Celery counts KiB.
        "worker_max_memory_per_child": settings.worker_max_memory_mb * 1024,
        "task_default_queue": ALERTS_QUEUE,
        "task_queues": [Queue(ALERTS_QUEUE), Queue(EMAIL_QUEUE)],
        "task_routes": TASK_ROUTES,
        # Flower sees every task by the worker's events (received, started, succeeded ...,
        # sent in batches: workers/events.py); a ``task-sent`` event from the task that queues
        # the next step of a chain would cost that task one more Redis round trip.
        "task_send_sent_event": False,
        "worker_send_task_events": True,
        "timezone": "UTC",
        "enable_utc": True,
        "beat_schedule": beat_schedule(settings),
        # Celery's persistent scheduler, announcing beat in Redis as it ticks; ticking at
        # least this often keeps the announcement fresh between housekeeping entries.
        "beat_scheduler": "workers.presence:HeartbeatScheduler",
        "beat_max_loop_interval": REFRESH_S,
    }


def create_app(settings: Settings | None = None) -> Celery:
    """A Celery app configured from ``settings`` (read from the environment by default)."""
    settings = settings or load_settings()
    # kombu's Redis channels reuse one Redis client each (workers/broker.py).
    broker.install()
    # Every task counts its deliveries and parks a message that keeps killing its worker.
    celery_app = Celery("shelfops", include=TASK_MODULES, task_cls=CountedTask)
    celery_app.conf.update(celery_config(settings))
    # Beside the app, not in app.conf (which `inspect conf` and Flower print).
    celery_app.shelfops_settings = settings
    # Each worker node announces the queues it consumes (the metrics count consumers).
    celery_app.steps["consumer"].add(Presence)
    # Task events for Flower go out in batches a moment apart (workers/events.py).
    celery_app.steps["consumer"].add(CoalescedEvents)
    # Log lines in SHELFOPS_LOG_FORMAT, each task's lines with its context.
    logs.install(settings)
    return celery_app


@worker_init.connect
def _bounded_waits(**_: Any) -> None:
    # Every wait on PostgreSQL in this worker (and its forked pool processes) has a deadline;
    # the garbage collector runs as stack/garbage.py explains.
    guard_waits(app.shelfops_settings)
    tune_collector()


@worker_process_init.connect
def _fresh_connections_after_fork(**_: Any) -> None:
    # A forked pool process must not share the parent's pooled database connections.
    dispose_engines()
    guard_waits(app.shelfops_settings)
    tune_collector()
    # Its connections opened and its statements planned before the first task needs them.
    warm_up_in_background()


app = create_app()
