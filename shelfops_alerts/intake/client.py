"""For producers: emit events by task name and JSON payload, without importing worker code.

A forecasting job calls :func:`notify_forecast_complete` after writing its forecasts, and
a sales feed :func:`notify_sales_recorded` after writing actual sales. The
payload is validated here first, so a malformed event fails in the producer, loudly, and
never reaches a queue. Celery is imported only when an event is sent (the rest of the core
library does not depend on it).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from shelfops_alerts.config import Settings, load_settings
from shelfops_alerts.intake.direct import outgoing
from shelfops_alerts.intake.events import (
    ForecastComplete,
    SalesRecorded,
    forecast_complete,
    sales_recorded,
)
from shelfops_alerts.outages.redis_clients import redis_options
from shelfops_alerts.vocabulary import ALERTS_QUEUE

if TYPE_CHECKING:
    from celery import Celery


@lru_cache(maxsize=4)
def _producer(broker_url: str, timeout_s: float = Settings.redis_timeout_s) -> Celery:
    from celery import Celery

    # Never the current app: in a process that also holds the workers' app (a test, a task
    # that emits an event), shared tasks would otherwise be sent through this one, to its
    # default queue.
    producer = Celery("shelfops-producer", broker=broker_url, set_as_current=False)
    producer.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        # A stalled broker fails the send instead of hanging the producer.
        broker_transport_options=redis_options(timeout_s),
    )
    return producer


def send_event(task_name: str, kwargs: dict[str, Any], *, settings: Settings | None = None) -> str:
    """Queue ``task_name`` with a JSON payload on the alerts queue; returns the task id."""
    settings = settings or load_settings()
    result = _producer(settings.redis_url.reveal(), settings.redis_timeout_s).send_task(
        task_name, kwargs=kwargs, queue=ALERTS_QUEUE, ignore_result=True
    )
    return str(result.id)


def _send(event: ForecastComplete | SalesRecorded, settings: Settings) -> str:
    """Queue ``event``: a small one straight as its check chain, any other as its walk task
    (``intake/direct.py`` decides); returns the first task's id."""
    message = outgoing(event, batch_size=settings.batch_size)
    result = _producer(settings.redis_url.reveal(), settings.redis_timeout_s).send_task(
        message.task_name,
        kwargs=message.kwargs,
        queue=ALERTS_QUEUE,
        task_id=message.task_id,
        chain=message.chain,
        ignore_result=True,
    )
    return str(result.id)


def notify_forecast_complete(
    customer_id: str,
    run_id: str | None = None,
    skus: Iterable[str] | None = None,
    *,
    settings: Settings | None = None,
) -> str:
    """Tell the service a forecasting run finished; check all the customer's SKUs or ``skus``.

    ``skus`` are ``"STORE/PRODUCT"`` strings. A few SKUs (one batch) are queued straight as
    their check chain, any other event as ``shelfops.forecast_completed``. Raises
    :class:`~shelfops_alerts.intake.events.InvalidEvent` for a malformed event (nothing is
    queued). Returns the Celery task id (of the check, or of the walk).
    """
    event = forecast_complete(customer_id, run_id, None if skus is None else list(skus))
    return _send(event, settings or load_settings())


def notify_sales_recorded(
    customer_id: str,
    skus: Iterable[str] | None = None,
    *,
    settings: Settings | None = None,
) -> str:
    """Tell the service new actual sales were written; check anomalies and forecast accuracy
    of all the customer's SKUs or ``skus`` (``"STORE/PRODUCT"`` strings).

    Raises :class:`~shelfops_alerts.intake.events.InvalidEvent` for a malformed event (nothing is
    queued). Returns the Celery task id.
    """
    event = sales_recorded(customer_id, None if skus is None else list(skus))
    return _send(event, settings or load_settings())
