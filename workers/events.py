"""Task events (what Flower shows) sent in batches a moment apart, not one PUBLISH per tick.

A worker's task events (``task-received``, ``task-started``, ``task-succeeded`` ...) are
already buffered by Celery and published as one message per batch, but Celery flushes the
buffer on the event loop's very next tick: with tasks of a few milliseconds, each event goes
out alone, three Redis round trips per task in the worker's main process, about a third of
its CPU per task. :class:`CoalescedEvents` flushes the buffer at most every
:data:`FLUSH_DELAY_S` instead, so one PUBLISH carries every event of that moment (Celery
still flushes at once when :data:`BUFFER_LIMIT` events are waiting). Every event is sent,
in order; Flower sees each task at most ``FLUSH_DELAY_S`` later. The buffer is flushed when
the consumer stops (a warm shutdown), so only a killed worker loses the events of its last
moment, as it always could lose the tick's.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps

logger = logging.getLogger(__name__)

#: Seconds a task event may wait in the buffer for others to share its PUBLISH: short next to
#: what a person watching Flower notices, long next to a one-SKU task (a few milliseconds).
FLUSH_DELAY_S = 0.1
#: Events buffered before a flush at once, whatever the delay (Celery's own default).
BUFFER_LIMIT = 24


class CoalescedEvents(bootsteps.StartStopStep):
    """A consumer bootstep: the event dispatcher's buffer is flushed on a timer."""

    requires = ("celery.worker.consumer.events:Events",)

    def __init__(self, c: Any, **kwargs: Any) -> None:
        super().__init__(c, **kwargs)
        self.consumer: Any = None
        self.pending = False

    def start(self, c: Any) -> None:
        dispatcher = c.event_dispatcher
        if c.hub is None or dispatcher is None or dispatcher.on_send_buffered is None:
            return  # no event loop (a pool without one): Celery sends each event itself
        self.consumer = c
        self.pending = False
        dispatcher.buffer_limit = BUFFER_LIMIT
        dispatcher.on_send_buffered = self.schedule

    def schedule(self) -> None:
        """An event was buffered: flush in ``FLUSH_DELAY_S`` unless a flush is due already."""
        if not self.pending:
            self.pending = True
            self.consumer.hub.call_later(FLUSH_DELAY_S, self.flush)

    def flush(self) -> None:
        self.pending = False
        consumer = self.consumer
        if consumer is not None and consumer.event_dispatcher is not None:
            try:
                consumer.event_dispatcher.flush()
            except Exception:  # events are for watching: never stop the worker for them
                logger.warning("could not send buffered task events", exc_info=True)

    def stop(self, c: Any) -> None:
        self.flush()

    def shutdown(self, c: Any) -> None:
        self.flush()
