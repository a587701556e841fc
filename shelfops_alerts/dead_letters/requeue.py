"""Sending a dead letter's message again, by task name, as a producer does.

Celery is imported only when a sender is made (see :mod:`shelfops_alerts.intake.client`),
so the rest of the package stays importable without it.
"""

from __future__ import annotations

from shelfops_alerts.config import Settings
from shelfops_alerts.dead_letters.store import Message, Send
from shelfops_alerts.vocabulary import ALERTS_QUEUE, EMAIL_QUEUE, EMAIL_TASKS


def sender(settings: Settings) -> Send:
    """A ``send(message, task_id)`` that queues ``message`` under ``task_id``: on the queue
    it came from, with the tasks and callbacks that followed it."""
    from shelfops_alerts.intake.client import _producer

    producer = _producer(settings.redis_url.reveal())

    def send(message: Message, task_id: str) -> None:
        options = message.options
        producer.send_task(
            message.task_name,
            args=message.args,
            kwargs=message.kwargs,
            task_id=task_id,
            # As the workers route it, when the message did not say where it came from.
            queue=message.queue
            or (EMAIL_QUEUE if message.task_name in EMAIL_TASKS else ALERTS_QUEUE),
            chain=options.get("chain") or None,
            link=options.get("link") or None,
            link_error=options.get("link_error") or None,
            ignore_result=True,
        )

    return send
