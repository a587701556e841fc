"""What every request handler needs, built once per app: settings, database sessions,
Redis clients, the stream hub and the task queue."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis
import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from shelfops_alerts.config import Settings
from shelfops_alerts.db import session_factory
from shelfops_alerts.web.enqueue import TaskQueue
from shelfops_alerts.web.hub import StreamHub
from shelfops_alerts.web.tokens import Principal


@dataclass
class WebContext:
    settings: Settings
    sessions: sessionmaker[Session]
    #: For the synchronous core (acknowledge/resolve publish through it), in worker threads.
    redis: redis.Redis
    #: For the event loop: webhook queueing, token cache, the stream.
    aredis: aioredis.Redis
    hub: StreamHub
    tasks: TaskQueue
    #: Token hash → (its owner as last seen in the Redis cache, the principal): hints only,
    #: confirmed against Redis when used (see ``auth.Claim``).
    owners: dict[str, tuple[bytes, Principal]] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> WebContext:
        aclient = aioredis.Redis.from_url(settings.redis_url.reveal(), socket_connect_timeout=5)
        return cls(
            settings=settings,
            sessions=session_factory(settings),
            redis=redis.Redis.from_url(settings.redis_url.reveal(), socket_timeout=10),
            aredis=aclient,
            hub=StreamHub(aclient, buffer=settings.stream_client_buffer),
            tasks=TaskQueue(aclient, broker_url=settings.redis_url.reveal()),
        )

    async def close(self) -> None:
        await self.hub.close()
        await self.aredis.aclose()
        self.redis.close()


def context_of(connection: HTTPConnection) -> WebContext:
    """The app's context, for a request or a WebSocket."""
    ctx: WebContext = connection.app.state.ctx
    return ctx
