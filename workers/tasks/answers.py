"""Celery's side of the core's answers: what a task raises or returns for each outcome."""

from __future__ import annotations

from typing import Any

from shelfops_alerts.notify.outcomes import DeliveryFailed, Failed, Outcome, RetryIn, outcome_json


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
