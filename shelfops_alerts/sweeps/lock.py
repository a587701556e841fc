"""The sweep lock: one Redis key with a TTL, so two sweeps never overlap.

The key holds the holder's token (its sweep task id). Every step of a running sweep renews
it (the sweep while it queues batches, each published batch afterwards), so it lives as long
as the sweep makes progress and expires ``ttl_s`` after the last sign of life when its holder
died. The holder's own task, run again (a retry, or a redelivery after its worker died),
finds the lock its own and continues the sweep. Renewing and releasing compare the token
first (a Lua script, atomic in Redis), so a late step of an old sweep can never extend or
drop a newer sweep's lock.
"""

from __future__ import annotations

import redis

#: The one key: a customer's sweep and a sweep of everything exclude each other too.
LOCK_KEY = "shelfops:sweep:lock"
#: Where a sweep task leaves its outcome (started, with the sweep id, or refused) for whoever
#: sent it, keyed by task id; ``sweep --wait`` reads it.
OUTCOME_KEY = "shelfops:sweep:request:{}"

# Free, or already ours (the same sweep task, retried or delivered again): take or keep it.
_ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if holder then
    return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class SweepLock:
    """Acquire, renew, release the sweep lock for ``token``; all calls are single round trips."""

    def __init__(self, client: redis.Redis, token: str, ttl_s: float) -> None:
        self.client = client
        self.token = token
        self.ttl_ms = max(1, int(ttl_s * 1000))

    def acquire(self) -> bool:
        """Take the lock if nobody holds it, or keep it if this token already does (a sweep
        task running again after a retry or a redelivery); False when another sweep does."""
        return bool(self.client.eval(_ACQUIRE, 1, LOCK_KEY, self.token, self.ttl_ms))

    def renew(self) -> bool:
        """Push the expiry ``ttl_s`` ahead, if this token still holds the lock."""
        return bool(self.client.eval(_RENEW, 1, LOCK_KEY, self.token, self.ttl_ms))

    def release(self) -> bool:
        """Drop the lock, if this token still holds it."""
        return bool(self.client.eval(_RELEASE, 1, LOCK_KEY, self.token))


def lock_holder(client: redis.Redis) -> str | None:
    """The token of the sweep holding the lock, or None."""
    value = client.get(LOCK_KEY)
    return value.decode() if isinstance(value, bytes) else value
