"""Single flight: concurrent calls for one key share one run of the work.

When fifty requests with the same token miss the cache at once, one database lookup serves
them all instead of fifty lookups crowding the thread pool (and each other) for the same
answer. A later call, once that run has finished, runs the work again: nothing is cached
here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """At most one run of the work per key at a time, its outcome shared by every caller
    that asked while it ran (a result, or the same exception)."""

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[T]] = {}

    def running(self, key: Hashable) -> bool:
        return key in self._running

    def start(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        """The run for ``key``: the one under way, or a new one of ``work``."""
        flight = self._running.get(key)
        if flight is None:
            flight = asyncio.ensure_future(work())
            self._running[key] = flight
            flight.add_done_callback(lambda done: self._landed(key, done))
        return flight

    def _landed(self, key: Hashable, flight: asyncio.Future[T]) -> None:
        self._running.pop(key, None)
        if not flight.cancelled():
            # Its callers read the outcome; if every one of them gave up, asyncio must not
            # report the exception as never retrieved.
            flight.exception()

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        """Wait for the run for ``key``. One caller giving up (a client that hangs up)
        does not cancel it for the others."""
        return await asyncio.shield(self.start(key, work))

    async def landed(self) -> None:
        """Wait until every run under way has finished (whatever its outcome)."""
        while self._running:
            await asyncio.wait(list(self._running.values()))

    def cancel(self) -> None:
        """Stop every run under way (the app is shutting down)."""
        for flight in list(self._running.values()):
            flight.cancel()
