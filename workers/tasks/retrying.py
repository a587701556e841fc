"""The one place where the alerts tasks turn transient faults into Celery retries.

Tasks declare ``base=RetriesFaults``; their bodies stay unaware of faults. It is a kind of
the app's :class:`~workers.redeliveries.CountedTask`, so these tasks count their deliveries
(and park a message that keeps killing its worker) like every other; a retry ends its
delivery, so it is never counted as a crash. Which faults are
transient is the core's (:mod:`shelfops_alerts.outages.faults`), how often and how long it
retries too (:mod:`shelfops_alerts.outages.retries`, from the settings); this class only
adds Celery's own transient faults and maps the verdict onto ``task.retry``. A retried task
keeps its id, its place in the chain and the chain's error callback.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.exceptions import Retry, SoftTimeLimitExceeded
from kombu.exceptions import OperationalError as BrokerUnreachable

from shelfops_alerts.outages.faults import transient_reason
from shelfops_alerts.outages.retries import FaultRetryPolicy, RetryFault, after_fault
from workers.redeliveries import CountedTask
from workers.tasks import context

logger = logging.getLogger(__name__)

#: Celery's and kombu's transient faults, beside the core's database and Redis ones.
CELERY_FAULTS: dict[type[BaseException], str] = {
    SoftTimeLimitExceeded: "soft time limit",
    BrokerUnreachable: "broker unreachable",
}


def fault_reason(exc: BaseException) -> str | None:
    """Why ``exc`` is worth a retry, or None."""
    for kind, reason in CELERY_FAULTS.items():
        if isinstance(exc, kind):
            return reason
    return transient_reason(exc)


class RetriesFaults(CountedTask):
    """A task that retries transient database, Redis and broker faults with backoff."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Retry:
            raise
        except Exception as exc:
            reason = fault_reason(exc)
            if reason is None:
                raise
            retries = int(self.request.retries or 0)
            verdict = after_fault(
                reason,
                retries_done=retries,
                policy=FaultRetryPolicy.from_settings(context.settings()),
            )
            if not isinstance(verdict, RetryFault):
                logger.error("%s[%s] failed: %s", self.name, self.request.id, verdict.reason)
                raise
            logger.warning(
                "%s[%s] retry %d in %.1f s after %s: %s",
                self.name,
                self.request.id,
                retries + 1,
                verdict.delay_s,
                verdict.reason,
                exc,
            )
            raise self.retry(countdown=verdict.delay_s, exc=exc, max_retries=None) from exc
