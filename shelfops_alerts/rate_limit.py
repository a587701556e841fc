"""One e-mail rate limit for the whole fleet, kept in Redis (GCRA in one Lua script).

Celery's own ``rate_limit`` holds per worker process, so N processes would send N times the
rate. Here every process on every machine asks the same Redis key. The Generic Cell Rate
Algorithm keeps one number, the *theoretical arrival time* (TAT) of the next send; a send is
allowed when ``now >= TAT - tolerance`` and moves TAT one emission interval on. With the
tolerance of zero (no burst), sends are spaced at least ``1/rate`` apart, so no window of one
second ever holds more than ``rate`` sends.

A provider's 429 pauses the whole fleet until its reset time (:meth:`GlobalRateLimit.pause`).
Time is Redis's own clock (``TIME``), so machines with drifting clocks agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

#: Redis key prefix of the limiter's state.
KEY_PREFIX = "shelfops:ratelimit:"

# KEYS[1] = TAT key, KEYS[2] = pause key; ARGV[1] = interval (µs), ARGV[2] = tolerance (µs).
# Returns 0 when the caller may send now, else the microseconds to wait.
_GCRA = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then
  return paused - now
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
  tat = now
end
local allow_at = tat - tolerance
if now < allow_at then
  return allow_at - now
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX',
           math.ceil((new_tat - now) / 1000) + 1000)
return 0
"""

_PAUSE = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then
  redis.call('SET', KEYS[1], string.format('%d', until_), 'PX',
             math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
end
return until_
"""


@dataclass
class GlobalRateLimit:
    """``rate`` sends per second shared by every process that uses ``name`` on this Redis."""

    client: redis.Redis
    rate: float
    name: str = "email"

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"rate must be > 0 per second, got {self.rate}")
        self._acquire = self.client.register_script(_GCRA)
        self._pause = self.client.register_script(_PAUSE)

    @property
    def interval_us(self) -> int:
        return max(1, round(1_000_000 / self.rate))

    def try_acquire(self) -> float:
        """Take a send slot: 0.0 when granted, else the seconds until one may be free."""
        keys = [f"{KEY_PREFIX}{self.name}:tat", f"{KEY_PREFIX}{self.name}:pause"]
        wait_us = int(self._acquire(keys=keys, args=[self.interval_us, 0]))
        return wait_us / 1_000_000

    def pause(self, seconds: float) -> None:
        """Hold every sender back for ``seconds`` (the provider said 429)."""
        if seconds > 0:
            self._pause(keys=[f"{KEY_PREFIX}{self.name}:pause"], args=[int(seconds * 1_000_000)])
