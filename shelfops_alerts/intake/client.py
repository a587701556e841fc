"""For producers: emit events by task name and JSON payload, without importing worker code.

A forecasting job calls :func:`notify_forecast_complete` after writing its forecasts, and
a sales feed :func:`notify_sales_recorded` after writing actual sales. The
payload is validated here first, so a malformed event fails in the producer, loudly, and
never reaches a queue. Celery is imported only when an event is sent (the rest of the core
library does not depend on it).

A message is built as Celery's ``send_task`` would build it and pushed onto the queue's
Redis list by one LPUSH (:mod:`shelfops_alerts.intake.messages`, as the webhook does); a
broker fault is retried as ``send_task`` retries it (PUBLISH_RETRY_INTERVALS_S), then
raised as kombu's ``OperationalError``, as ``send_task`` raises it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import redis

from shelfops_alerts.config import Settings, load_settings
from shelfops_alerts.intake.direct import outgoing
from shelfops_alerts.intake.events import (
    ForecastComplete,
    SalesRecorded,
    forecast_complete,
    sales_recorded,
)
from shelfops_alerts.intake.messages import MessageBuilder
from shelfops_alerts.outages.redis_clients import redis_client, redis_options
from shelfops_alerts.vocabulary import ALERTS_QUEUE

if TYPE_CHECKING:
    from celery import Celery

#: Waits before each retry of a send the broker failed (Celery's default publish retry
#: policy: three retries, 0 s then 0.2 s apart); after the last, the fault is raised.
PUBLISH_RETRY_INTERVALS_S = (0.0, 0.2, 0.2)


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


@lru_cache(maxsize=4)
def _queue(broker_url: str, timeout_s: float) -> tuple[redis.Redis, MessageBuilder]:
    """The producer's Redis client of the broker and its message builder, made once."""
    builder = MessageBuilder(_producer(broker_url, timeout_s).amqp, ALERTS_QUEUE)
    return redis_client(broker_url, timeout_s), builder


def _push(
    settings: Settings,
    task_name: str,
    kwargs: dict[str, Any],
    *,
    task_id: str | None = None,
    chain: list[dict[str, Any]] | None = None,
) -> str:
    """Queue one task message on the alerts queue (one LPUSH); returns its task id. A
    broker fault is retried (PUBLISH_RETRY_INTERVALS_S), then raised as kombu's
    ``OperationalError``."""
    client, builder = _queue(settings.redis_url.reveal(), settings.redis_timeout_s)
    task_id, envelope = builder.message(task_name, kwargs, task_id=task_id, chain=chain)
    push_envelope(client, ALERTS_QUEUE, envelope)
    return task_id


def push_envelope(client: redis.Redis, queue: str, envelope: str) -> None:
    """LPUSH a built message onto ``queue``'s list, where kombu's Redis transport puts a
    message of priority 0. A broker fault is retried (PUBLISH_RETRY_INTERVALS_S), then
    raised as kombu's ``OperationalError``, as ``send_task`` raises it."""
    from kombu.exceptions import OperationalError

    for wait_s in (*PUBLISH_RETRY_INTERVALS_S, None):
        try:
            client.lpush(queue, envelope)
            return
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if wait_s is None:
                raise OperationalError(f"the broker refused the message: {exc}") from exc
            time.sleep(wait_s)


def send_event(task_name: str, kwargs: dict[str, Any], *, settings: Settings | None = None) -> str:
    """Queue ``task_name`` with a JSON payload on the alerts queue; returns the task id."""
    return _push(settings or load_settings(), task_name, kwargs)


def _send(event: ForecastComplete | SalesRecorded, settings: Settings) -> str:
    """Queue ``event``: a small one straight as its check chain, any other as its walk task
    (``intake/direct.py`` decides); returns the first task's id."""
    message = outgoing(event, batch_size=settings.batch_size)
    return _push(
        settings,
        message.task_name,
        message.kwargs,
        task_id=message.task_id,
        chain=message.chain,
    )


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
    queued), and kombu's ``OperationalError`` when the broker still fails after the retries.
    Returns the Celery task id (of the check, or of the walk).
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
