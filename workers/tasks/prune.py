"""``shelfops.prune``: delete what the retention settings no longer keep (hourly, by beat)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from shelfops_alerts.db import get_engine
from shelfops_alerts.retention.policy import Retention
from shelfops_alerts.retention.prune import prune
from shelfops_alerts.vocabulary import PRUNE_TASK
from workers.tasks import context


@shared_task(name=PRUNE_TASK, acks_late=True)
def prune_old_rows() -> dict[str, Any]:
    """One prune run (bounded in time; the next run goes on where this one stopped)."""
    settings = context.settings()
    report = prune(
        get_engine(settings), Retention.from_settings(settings), today=context.today_utc()
    )
    return report.as_dict()
