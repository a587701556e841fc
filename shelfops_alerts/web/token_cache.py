"""Who owns an API token, fast: the web service's side of the shared token cache.

Redis holds ``tokens.cache_key(hash)`` → the owner as JSON (``customer_id``, ``token_id``)
for ``tokens.CACHE_TTL_S``, shared by every instance. A revocation overwrites the entry with
``tokens.REVOKED_MARK`` and every instance refuses the token from its next request on.
Nothing here can undo that: an entry is written only where there is none (NX), and
extended only while it still holds the same owner (one atomic step).

In each process, on top of that:

* **single flight**: requests that miss the cache together share one database lookup per
  token, instead of each queueing its own in the thread pool;
* **refresh ahead**: a request served from an entry with less than :data:`REFRESH_AHEAD_S`
  to live starts one background re-check of the token in the database, which extends the
  entry if the token is still active (or writes the revocation mark if it is not). A token
  in steady use therefore never expires under its traffic, no request waits for the
  re-check, and the entry is never trusted longer than ``CACHE_TTL_S`` after the database
  last said yes;
* **known owners**: the entries this process has read, so the webhook can check the entry
  and queue its event in one Redis step (``TaskQueue.send_if_cached``).
"""

from __future__ import annotations

import json
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from shelfops_alerts.web.singleflight import SingleFlight
from shelfops_alerts.web.tokens import (
    CACHE_TTL_S,
    REVOKED_MARK,
    REVOKED_MARK_TTL_S,
    TOKEN_PREFIX,
    Principal,
    cache_key,
    find_token,
    hash_secret,
)

log = logging.getLogger(__name__)

#: An entry with less than this many seconds to live is re-checked in the background by the
#: request that reads it (a third of ``CACHE_TTL_S``: one re-check per token and process
#: about every 40 s while the token is in use).
REFRESH_AHEAD_S = 20
#: Most token owners one process remembers.
KNOWN_OWNERS = 10_000

#: The entry and its remaining lifetime (ms; negative if none), in one round trip.
_READ = "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}"
#: Give the entry a new lifetime (ARGV[2] ms) only while it still holds the owner ARGV[1].
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


def owner_json(customer_id: str, token_id: int) -> bytes:
    """A cache entry's value."""
    return json.dumps({"customer_id": customer_id, "token_id": token_id}).encode()


def principal_of(owner: bytes) -> Principal:
    found = json.loads(owner)
    return Principal(found["customer_id"], found["token_id"], "token")


class TokenCache:
    """The token cache as one web process uses it (see the module's description)."""

    def __init__(
        self,
        client: aioredis.Redis,
        sessions: sessionmaker[Session],
    ) -> None:
        self.client = client
        self.sessions = sessions
        self.owners: dict[str, tuple[bytes, Principal]] = {}
        self._lookups: SingleFlight[Principal | None] = SingleFlight()
        self._refreshes: SingleFlight[None] = SingleFlight()
        self._read = client.register_script(_READ)
        self._extend = client.register_script(_EXTEND)

    async def principal(self, token: str) -> Principal | None:
        """The owner of an API token, from the cache or the database; None if unknown or
        revoked."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        digest = hash_secret(token)
        try:
            cached, ttl_ms = await self._read(keys=[cache_key(digest)])
        except RedisError:
            cached, ttl_ms = None, None
        if cached == REVOKED_MARK:
            self.forget(digest)
            return None
        if cached is not None:
            principal = principal_of(cached)
            self._remember(digest, cached, principal)
            self.keep_fresh(digest, cached, ttl_ms)
            return principal
        return await self._lookups.run(digest, lambda: self._fill(digest))

    def known(self, digest: str) -> tuple[bytes, Principal] | None:
        """(cache entry, principal) of a token this process has read, as a hint to be
        confirmed against Redis; None otherwise."""
        return self.owners.get(digest)

    def forget(self, digest: str) -> None:
        """Drop the hint: the entry expired or the token was revoked."""
        self.owners.pop(digest, None)

    def keep_fresh(self, digest: str, owner: bytes, ttl_ms: int | None) -> None:
        """Refresh ahead: the entry holding ``owner`` has ``ttl_ms`` left; if that is under
        :data:`REFRESH_AHEAD_S`, re-check the token in the background (once at a time)."""
        if ttl_ms is None or not 0 <= ttl_ms < REFRESH_AHEAD_S * 1000:
            return
        if not self._refreshes.running(digest):
            self._refreshes.start(digest, lambda: self._refresh(digest, owner))

    async def refreshed(self) -> None:
        """Wait for the background re-checks under way."""
        await self._refreshes.landed()

    def close(self) -> None:
        self._lookups.cancel()
        self._refreshes.cancel()

    def _remember(self, digest: str, owner: bytes, principal: Principal) -> None:
        if len(self.owners) >= KNOWN_OWNERS:
            self.owners.clear()
        self.owners[digest] = (owner, principal)

    def _lookup(self, digest: str) -> tuple[str, int] | None:
        with self.sessions() as session:
            row = find_token(session, token_hash=digest)
            return None if row is None else (row.customer_id, row.id)

    async def _fill(self, digest: str) -> Principal | None:
        """A miss: the database says; an active token's owner goes into the cache."""
        found = await run_in_threadpool(self._lookup, digest)
        if found is None:
            return None
        principal = Principal(found[0], found[1], "token")
        owner = owner_json(*found)
        try:  # NX: never overwrite a revocation mark written meanwhile
            if await self.client.set(cache_key(digest), owner, ex=CACHE_TTL_S, nx=True):
                self._remember(digest, owner, principal)
        except RedisError:
            pass
        return principal

    async def _refresh(self, digest: str, owner: bytes) -> None:
        """Re-check a cached token in the database: still active, its entry lives another
        ``CACHE_TTL_S`` (if it still holds ``owner``); revoked, it gets the revocation mark
        (in case the revocation could not write it)."""
        key = cache_key(digest)
        try:
            found = await run_in_threadpool(self._lookup, digest)
            if found is None:
                await self.client.set(key, REVOKED_MARK, ex=REVOKED_MARK_TTL_S)
                self.forget(digest)
            elif principal_of(owner) == Principal(found[0], found[1], "token"):
                await self._extend(keys=[key], args=[owner, CACHE_TTL_S * 1000])
        except (RedisError, SQLAlchemyError) as exc:
            # The entry simply runs out as it would have; the next miss looks it up.
            log.warning("could not refresh a cached API token: %s", exc)
