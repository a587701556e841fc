"""The stream's fan-out: one reader per customer per process, many WebSocket clients.

Every alert change is appended to its customer's Redis Stream (see ``publish/changes.py``).
In each web process, the first client of a customer starts a *feed*: one task running
``XREAD BLOCK`` on that customer's stream from a concrete entry id, handing each new entry
(the channel's JSON plus ``event_id``, serialised once) to every client's bounded queue.
The feed never waits for a client: a client whose queue is full is marked too slow, and
its connection is closed (it can resume with ``since``); everyone else goes on.

Replay is exact because entry ids are ordered: a client joining with ``since=S`` learns the
id ``L`` its feed had reached when it joined; it is sent the entries in ``(S, L]`` read with
``XRANGE``, then the feed's entries, all after ``L``. Nothing is missed at the seam and
nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from shelfops_alerts.publish.changes import STREAM_FIELD, stream_for

logger = logging.getLogger(__name__)

#: The id before every entry ("from the beginning").
ORIGIN = "0-0"
#: How long one XREAD waits for new entries before the feed looks at its clients again.
BLOCK_MS = 2000
#: Entries one XREAD (or one replay page) takes at most.
READ_COUNT = 500
#: A feed that cannot read Redis retries after this long, doubling up to the cap.
RETRY_S, RETRY_CAP_S = 0.5, 5.0

_ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")
_FIELD = STREAM_FIELD.encode()

EventKey = tuple[int, int]


def is_event_id(value: str) -> bool:
    """Whether ``value`` is a stream entry id (``MS-SEQ``, or ``MS``)."""
    return bool(_ID.match(value))


def event_key(event_id: str) -> EventKey:
    """An entry id as a tuple that sorts like the stream does."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


def client_message(data: bytes, event_id: str) -> str:
    """The JSON a client receives: the channel's object plus ``event_id``."""
    message = json.loads(data)
    message["event_id"] = event_id
    return json.dumps(message, sort_keys=True)


@dataclass(eq=False)
class Subscriber:
    """One WebSocket client: a bounded queue of (key, JSON) the feed fills."""

    customer_id: str
    buffer: int
    #: Entries after this one reach the client through its queue.
    joined_at: str = ORIGIN
    queue: asyncio.Queue[tuple[EventKey, str]] = field(init=False)
    #: Set when the client must be disconnected (it can resume with ``since``); see reason.
    dropped: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    reason: str = ""

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.buffer)

    def offer(self, key: EventKey, payload: str) -> None:
        """Queue an entry without waiting; a full queue marks the client too slow."""
        if self.dropped.is_set():
            return
        try:
            self.queue.put_nowait((key, payload))
        except asyncio.QueueFull:
            self.drop("too slow")

    def drop(self, reason: str) -> None:
        if not self.dropped.is_set():
            self.reason = reason
            self.dropped.set()


@dataclass(eq=False)
class CustomerFeed:
    """The one reader of a customer's stream in this process."""

    hub: StreamHub
    customer_id: str
    last_id: str
    subscribers: set[Subscriber] = field(default_factory=set)
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        key = stream_for(self.customer_id)
        wait = RETRY_S
        try:
            while self.subscribers:
                try:
                    reply: Any = await self.hub.redis.xread(
                        {key: self.last_id}, count=self.hub.read_count, block=BLOCK_MS
                    )
                except RedisError as exc:
                    logger.warning("stream %s: %s; retrying in %.1f s", key, exc, wait)
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, RETRY_CAP_S)
                    continue
                wait = RETRY_S
                for _stream, entries in reply or ():
                    for raw_id, fields in entries:
                        self._dispatch(raw_id.decode(), fields)
        except Exception:
            logger.exception("stream %s: the feed stopped", key)
            for subscriber in tuple(self.subscribers):
                subscriber.drop("stream unavailable")
            raise
        finally:
            self.hub.feed_ended(self)

    def _dispatch(self, event_id: str, fields: dict[bytes, bytes]) -> None:
        # No await in here: a client joining sees last_id and the entries already queued
        # as one consistent state.
        self.last_id = event_id
        try:
            payload = client_message(fields[_FIELD], event_id)
        except (KeyError, ValueError):
            logger.warning(
                "stream entry %s of %s is not an alert change", event_id, self.customer_id
            )
            return
        key = event_key(event_id)
        for subscriber in tuple(self.subscribers):
            subscriber.offer(key, payload)


class StreamHub:
    """The feeds of this process, started on a customer's first client, ended after the last."""

    def __init__(self, client: aioredis.Redis, *, buffer: int) -> None:
        self.redis = client
        self.buffer = buffer
        # One read never hands a client more than its queue holds. The clients that keep up
        # empty their queues before the next read is processed (sending does not yield
        # unless the socket pushes back), so only a client whose socket is full falls behind.
        self.read_count = min(READ_COUNT, buffer)
        self.feeds: dict[str, CustomerFeed] = {}

    async def join(self, customer_id: str) -> Subscriber:
        """A new client of ``customer_id``; ``joined_at`` says where its live entries start."""
        feed = self.feeds.get(customer_id)
        if feed is None:
            start = await self.last_id(customer_id)
            feed = self.feeds.get(customer_id)  # another client may have started it meanwhile
            if feed is None:
                feed = CustomerFeed(self, customer_id, start)
                self.feeds[customer_id] = feed
                feed.task = asyncio.create_task(feed.run(), name=f"feed {customer_id}")
        subscriber = Subscriber(customer_id, self.buffer, joined_at=feed.last_id)
        feed.subscribers.add(subscriber)
        return subscriber

    def leave(self, subscriber: Subscriber) -> None:
        feed = self.feeds.get(subscriber.customer_id)
        if feed is not None:
            feed.subscribers.discard(subscriber)

    def feed_ended(self, feed: CustomerFeed) -> None:
        if self.feeds.get(feed.customer_id) is feed:
            del self.feeds[feed.customer_id]

    async def last_id(self, customer_id: str) -> str:
        """The id of the newest entry ever added to the customer's stream (ORIGIN if none)."""
        try:
            info = await self.redis.xinfo_stream(stream_for(customer_id))
        except ResponseError:  # no such key: nothing was ever published for this customer
            return ORIGIN
        last = info["last-generated-id"]
        return last.decode() if isinstance(last, bytes) else str(last)

    async def lost_after(self, customer_id: str, since: str) -> bool:
        """Whether entries after ``since`` may have been trimmed away: ``since`` is older
        than the oldest entry the stream still holds (or the stream is gone)."""
        if event_key(since) == event_key(ORIGIN):
            return False
        oldest: Any = await self.redis.xrange(stream_for(customer_id), count=1)
        if not oldest:
            return True
        return event_key(oldest[0][0].decode()) > event_key(since)

    async def replay(
        self, customer_id: str, *, after: str, upto: str
    ) -> AsyncIterator[tuple[EventKey, str]]:
        """The entries in ``(after, upto]``, oldest first, read a page at a time."""
        key = stream_for(customer_id)
        start = f"({after}"
        while True:
            entries: Any = await self.redis.xrange(key, min=start, max=upto, count=READ_COUNT)
            for raw_id, fields in entries:
                event_id = raw_id.decode()
                if _FIELD in fields:
                    yield event_key(event_id), client_message(fields[_FIELD], event_id)
            if len(entries) < READ_COUNT:
                return
            start = f"({entries[-1][0].decode()}"

    async def close(self) -> None:
        """Stop every feed (the app is shutting down)."""
        tasks = [feed.task for feed in self.feeds.values() if feed.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
