"""The token cache of one web process, on the real Redis and PostgreSQL: concurrent misses
share one database lookup, entries in use are refreshed ahead of expiry, and a revocation
still wins at once, whatever a refresh is doing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest
import redis
import redis.asyncio as aioredis
from sqlalchemy import create_engine, event
from sqlalchemy.orm import sessionmaker

from shelfops_alerts.web.token_cache import REFRESH_AHEAD_S, TokenCache
from shelfops_alerts.web.tokens import (
    CACHE_TTL_S,
    REVOKED_MARK,
    REVOKED_MARK_TTL_S,
    Principal,
    cache_key,
    forget_token,
    hash_secret,
    revoke_token,
)
from tests.support.web import new_token

T = TypeVar("T")


class CountedSessions:
    """Sessions on their own engine, counting the statements that read ``api_tokens``."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.lookups = 0
        event.listen(self.engine, "before_cursor_execute", self._seen)
        self.factory = sessionmaker(bind=self.engine)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if "FROM api_tokens" in statement:
            self.lookups += 1


@pytest.fixture()
def sessions(settings) -> Iterator[CountedSessions]:
    counted = CountedSessions(settings.sqlalchemy_url.reveal())
    yield counted
    counted.engine.dispose()


@pytest.fixture()
def plain_redis(settings) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url.reveal())


def with_cache(
    settings, sessions: CountedSessions, scenario: Callable[[TokenCache], Awaitable[T]]
) -> T:
    """Run ``scenario`` with a fresh process-side cache, as one web process has it."""

    async def run() -> T:
        client = aioredis.Redis.from_url(settings.redis_url.reveal())
        cache = TokenCache(client, sessions.factory)
        try:
            return await scenario(cache)
        finally:
            cache.close()
            await client.aclose()

    return asyncio.run(run())


def test_fifty_concurrent_first_requests_make_one_database_lookup(db, settings, sessions):
    # Given a token nobody has used yet (nothing cached anywhere)
    token = new_token(db, "acme")

    # When fifty requests with it arrive at once
    async def scenario(cache: TokenCache) -> list[Principal | None]:
        return list(await asyncio.gather(*(cache.principal(token) for _ in range(50))))

    principals = with_cache(settings, sessions, scenario)

    # Then the database was asked once, and all fifty are the token's customer
    assert sessions.lookups == 1
    assert {p.customer_id if p else None for p in principals} == {"acme"}
    # And the owner is in the shared cache for the next requests, for CACHE_TTL_S
    ttl = redis.Redis.from_url(settings.redis_url.reveal()).ttl(cache_key(hash_secret(token)))
    assert CACHE_TTL_S - 5 < ttl <= CACHE_TTL_S


def test_concurrent_requests_with_an_unknown_token_share_one_refusal(db, settings, sessions):
    async def scenario(cache: TokenCache) -> list[Principal | None]:
        return list(await asyncio.gather(*(cache.principal("sho_unknown") for _ in range(20))))

    assert with_cache(settings, sessions, scenario) == [None] * 20
    assert sessions.lookups == 1


def test_an_entry_close_to_expiry_is_refreshed_once_in_the_background(
    db, settings, sessions, plain_redis
):
    token = new_token(db, "acme")
    key = cache_key(hash_secret(token))

    async def scenario(cache: TokenCache) -> list[Principal | None]:
        # Given the token is cached, with less than REFRESH_AHEAD_S left to live
        await cache.principal(token)
        plain_redis.pexpire(key, (REFRESH_AHEAD_S - 10) * 1000)
        before = sessions.lookups
        # When twenty requests read it at once
        answers = await asyncio.gather(*(cache.principal(token) for _ in range(20)))
        await cache.refreshed()
        # Then one re-check (not twenty) gave the entry a whole lifetime again
        assert sessions.lookups == before + 1
        return list(answers)

    answers = with_cache(settings, sessions, scenario)
    assert {p.customer_id if p else None for p in answers} == {"acme"}
    assert plain_redis.ttl(key) > CACHE_TTL_S - 5


def test_an_entry_far_from_expiry_costs_no_database_round_trip(db, settings, sessions):
    token = new_token(db, "acme")

    async def scenario(cache: TokenCache) -> None:
        await cache.principal(token)
        for _ in range(20):
            await cache.principal(token)
        await cache.refreshed()

    with_cache(settings, sessions, scenario)
    assert sessions.lookups == 1


def test_a_revocation_landing_during_a_refresh_is_never_overwritten(
    db, settings, sessions, plain_redis
):
    token = new_token(db, "acme")
    key = cache_key(hash_secret(token))

    async def scenario(cache: TokenCache) -> Principal | None:
        await cache.principal(token)
        plain_redis.pexpire(key, 2000)
        # Given a request has started a refresh (its database read still says "active")
        assert await cache.principal(token) is not None
        # When another instance's revocation writes its mark before the refresh extends
        plain_redis.set(key, REVOKED_MARK, ex=REVOKED_MARK_TTL_S)
        await cache.refreshed()
        # Then the next request is refused
        return await cache.principal(token)

    assert with_cache(settings, sessions, scenario) is None
    # And the mark is intact, with its own (longer) lifetime
    assert plain_redis.get(key) == REVOKED_MARK
    assert plain_redis.ttl(key) > CACHE_TTL_S


def test_a_refresh_that_finds_the_token_revoked_writes_the_mark(
    db, settings, sessions, plain_redis
):
    token = new_token(db, "acme")
    key = cache_key(hash_secret(token))

    async def scenario(cache: TokenCache) -> Principal | None:
        await cache.principal(token)
        # Given the token was revoked in the database but its mark never reached Redis
        with db.begin() as session:
            revoke_token(session, token_id=cache.owners[hash_secret(token)][1].token_id)
        plain_redis.pexpire(key, 2000)
        # When a request reads the entry close to its expiry (still trusted, as before)
        assert await cache.principal(token) is not None
        await cache.refreshed()
        # Then the re-check has written the mark, and the token is refused from now on
        return await cache.principal(token)

    assert with_cache(settings, sessions, scenario) is None
    assert plain_redis.get(key) == REVOKED_MARK


def test_a_revoked_token_is_refused_at_once_by_a_process_that_cached_it(
    db, settings, sessions, plain_redis
):
    token = new_token(db, "acme")

    async def scenario(cache: TokenCache) -> Principal | None:
        assert await cache.principal(token) is not None
        # When it is revoked as `tokens revoke` does it (database, then the shared mark)
        with db.begin() as session:
            row = revoke_token(session, token_id=cache.owners[hash_secret(token)][1].token_id)
        forget_token(plain_redis, token_hash=row.token_hash)
        return await cache.principal(token)

    assert with_cache(settings, sessions, scenario) is None
