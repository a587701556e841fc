"""What every request handler needs, built once per app: settings, database sessions,
Redis clients, the token cache, the stream hub and the task queue."""

from __future__ import annotations

from dataclasses import dataclass

import redis
import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from shelfops_alerts.config import Settings
from shelfops_alerts.db import session_factory
from shelfops_alerts.web.enqueue import TaskQueue
from shelfops_alerts.web.hub import StreamHub
from shelfops_alerts.web.token_cache import TokenCache


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
    #: Who owns an API token (the shared Redis cache, filled from the database).
    tokens: TokenCache

    @classmethod
    def build(cls, settings: Settings) -> WebContext:
        aclient = aioredis.Redis.from_url(settings.redis_url.reveal(), socket_connect_timeout=5)
        sessions = session_factory(settings)
        return cls(
            settings=settings,
            sessions=sessions,
            redis=redis.Redis.from_url(settings.redis_url.reveal(), socket_timeout=10),
            aredis=aclient,
            hub=StreamHub(aclient, buffer=settings.stream_client_buffer),
            tasks=TaskQueue(aclient, broker_url=settings.redis_url.reveal()),
            tokens=TokenCache(aclient, sessions),
        )

    async def close(self) -> None:
        self.tokens.close()
        await self.hub.close()
        await self.aredis.aclose()
        self.redis.close()


def context_of(connection: HTTPConnection) -> WebContext:
    """The app's context, for a request or a WebSocket."""
    ctx: WebContext = connection.app.state.ctx
    return ctx
