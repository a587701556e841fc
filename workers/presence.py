"""Workers and beat announce themselves in Redis (shelfops_alerts/health/presence.py), so the
metrics count the workers consuming each queue and tell when beat last ticked.

* :class:`Presence`, a consumer bootstep: once the worker consumes its queues, it refreshes
  its entry every ``REFRESH_S`` on the worker's own timer (so a wedged event loop stops
  refreshing), and removes it when the consumer stops.
* :class:`HeartbeatScheduler`, beat's scheduler: the persistent scheduler Celery uses by
  default, which also refreshes beat's entry as it ticks.

A failed refresh is logged and the next one tries again: presence never stops a worker.
"""

from __future__ import annotations

import logging
import socket
import time
from functools import lru_cache
from typing import Any

import redis
from celery import bootsteps
from celery.beat import PersistentScheduler

from shelfops_alerts.health import presence

logger = logging.getLogger(__name__)


@lru_cache(maxsize=2)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _redis_url(app: Any) -> str:
    return str(app.shelfops_settings.redis_url.reveal())


class Presence(bootsteps.StartStopStep):
    """Keeps ``shelfops:consumers:{queue}`` entries fresh for this worker node."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, c: Any, **kwargs: Any) -> None:
        super().__init__(c, **kwargs)
        self.timer_ref: Any = None
        self.queues: list[str] = []
        self.node = ""
        self.url = ""

    def start(self, c: Any) -> None:
        self.node = c.hostname
        self.queues = sorted(queue.name for queue in c.task_consumer.queues)
        self.url = _redis_url(c.app)
        self.announce()
        self.timer_ref = c.timer.call_repeatedly(presence.REFRESH_S, self.announce)

    def announce(self) -> None:
        try:
            presence.announce_consumer(_client(self.url), self.node, self.queues)
        except redis.RedisError as exc:
            logger.warning("presence: could not announce %s: %s", self.node, exc)

    def stop(self, c: Any) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None
        if self.queues:
            try:
                presence.withdraw_consumer(_client(self.url), self.node, self.queues)
            except redis.RedisError as exc:
                logger.warning("presence: could not withdraw %s: %s", self.node, exc)

    shutdown = stop


class HeartbeatScheduler(PersistentScheduler):
    """Celery's default scheduler, refreshing ``shelfops:beat`` at most once a second as it
    ticks (beat ticks at least every ``beat_max_loop_interval``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._announced = 0.0
        self._node = socket.gethostname()

    def tick(self, *args: Any, **kwargs: Any) -> float:
        delay = float(super().tick(*args, **kwargs))
        now = time.time()
        if now - self._announced >= 1.0:
            try:
                presence.announce_beat(_client(_redis_url(self.app)), self._node, now=now)
                self._announced = now
            except redis.RedisError as exc:
                logger.warning("presence: could not announce beat: %s", exc)
        return delay
