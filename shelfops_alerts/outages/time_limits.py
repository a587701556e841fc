"""Each task kind's soft and hard time limits: the last bound on a stuck task.

Below these, every wait already has its own bound (the database's statement timeout and
client deadline, Redis socket timeouts, the mail provider's request timeout), so a limit is
reached only when something unforeseen hangs. At the soft limit the task gets
``SoftTimeLimitExceeded`` (the alerts tasks retry it, like any transient fault); at the
hard limit its process is killed and replaced, and the task fails.

The limits apply with the prefork pool (the default). ``load_settings`` refuses settings
whose own bounds do not fit below them (the statement timeout, the e-mail timeout).
"""

from __future__ import annotations

from dataclasses import dataclass

from shelfops_alerts.vocabulary import (
    CHECK_TASK,
    FLUSH_DIGESTS_TASK,
    FORECAST_COMPLETED_TASK,
    PERSIST_TASK,
    PRUNE_TASK,
    PUBLISH_TASK,
    RELAY_TASK,
    SALES_RECORDED_TASK,
    SEND_DIGEST_TASK,
    SEND_EMAIL_TASK,
    SWEEP_BATCH_FAILED_TASK,
    SWEEP_TASK,
)


@dataclass(frozen=True)
class TimeLimit:
    """Soft and hard limits in seconds, and why they are what they are."""

    soft_s: float
    hard_s: float
    why: str


#: One batch: a few set-based statements (0.1 s for 2,000 SKUs on the bench machine), each
#: bounded by the statement timeout; two minutes is a thousand times the usual.
_BATCH = TimeLimit(120, 150, "a batch's few statements, each under the statement timeout")
#: Walking every SKU key page by page and queueing a chain per page: a 1M-SKU sweep queues in
#: about 10 s; 15 min (the default sweep interval) leaves room for 50M.
_WALK = TimeLimit(900, 960, "walks every SKU page and queues a chain per page")
#: One e-mail or digest: the rate-limit slot, one claim, one provider request (at most
#: SHELFOPS_EMAIL_TIMEOUT_S, which must stay below the soft limit), one record.
_MAIL = TimeLimit(120, 150, "one provider request (SHELFOPS_EMAIL_TIMEOUT_S) and two statements")

TIME_LIMITS: dict[str, TimeLimit] = {
    CHECK_TASK: _BATCH,
    PERSIST_TASK: _BATCH,
    PUBLISH_TASK: _BATCH,
    SWEEP_BATCH_FAILED_TASK: _BATCH,
    RELAY_TASK: TimeLimit(120, 150, "at most 5,000 changes and deliveries per run"),
    FLUSH_DIGESTS_TASK: TimeLimit(120, 150, "at most 1,000 digests per run"),
    FORECAST_COMPLETED_TASK: _WALK,
    SALES_RECORDED_TASK: _WALK,
    SWEEP_TASK: _WALK,
    SEND_EMAIL_TASK: _MAIL,
    SEND_DIGEST_TASK: _MAIL,
    # Deletes in bounded batches until its budget (retention.prune.BUDGET_S, 120 s) is spent;
    # the statement under way when the budget runs out is bounded by its own timeout (60 s).
    PRUNE_TASK: TimeLimit(200, 240, "bounded deletes for at most 120 s, plus one statement"),
}

#: Tasks on the ``email`` queue and the rest: their smallest soft limits bound the settings.
MAIL_SOFT_LIMIT_S = min(TIME_LIMITS[name].soft_s for name in (SEND_EMAIL_TASK, SEND_DIGEST_TASK))
DATABASE_SOFT_LIMIT_S = min(limit.soft_s for limit in TIME_LIMITS.values())


def celery_annotations() -> dict[str, dict[str, float]]:
    """The limits as Celery's ``task_annotations`` (plain data, no Celery import)."""
    return {
        name: {"soft_time_limit": limit.soft_s, "time_limit": limit.hard_s}
        for name, limit in TIME_LIMITS.items()
    }
