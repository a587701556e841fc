"""Celery's side of the core's answers: what a task raises or returns for each outcome."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, NoReturn

from celery.exceptions import Reject

from shelfops_alerts.notify.outcomes import DeliveryFailed, Failed, Outcome, RetryIn, outcome_json

logger = logging.getLogger(__name__)
#: Most refused SKUs of one message named in the log, one line each; the rest are counted.
LOGGED_REFUSALS = 10


class NotSentYet(Exception):
    """Why a delivery or digest is retried (what Flower shows beside the countdown)."""


def answer(task: Any, outcome: Outcome, **ids: Any) -> dict[str, Any]:
    """``RetryIn`` → ``task.retry`` with its countdown; ``Failed`` → a failed task carrying
    the reason (DeliveryFailed); anything else → the task's JSON result (a ``Deferred`` row
    is brought back by the relay when it is due)."""
    if isinstance(outcome, RetryIn):
        raise task.retry(
            countdown=outcome.delay_s, exc=NotSentYet(outcome.reason), max_retries=None
        )
    if isinstance(outcome, Failed):
        raise DeliveryFailed(outcome.reason)
    return outcome_json(outcome, **ids)


def refuse(what: str, exc: Exception) -> NoReturn:
    """A message that cannot be acted on (the core said why): log the reason and drop it
    (``Reject`` without requeue: redelivering it cannot help). Nothing was written."""
    logger.error("refused %s: %s", what, exc)
    raise Reject(f"invalid {what}: {exc}", requeue=False) from exc


def log_refused_skus(what: str, customer_id: str, reasons: Sequence[str]) -> None:
    """Say why each SKU of a message was refused alone (the rest of it goes on)."""
    for reason in reasons[:LOGGED_REFUSALS]:
        logger.warning("%s for %s: refused %s", what, customer_id, reason)
    if len(reasons) > LOGGED_REFUSALS:
        more = len(reasons) - LOGGED_REFUSALS
        logger.warning("%s for %s: %d more SKU(s) refused", what, customer_id, more)
