"""One e-mail rate limit for the whole fleet, kept in Redis (GCRA in one Lua script).

Celery's own ``rate_limit`` holds per worker process, so N processes would send N times the
rate. Here every process on every machine asks the same Redis key. The Generic Cell Rate
Algorithm keeps one number, the *theoretical arrival time* (TAT) of the next send; a slot is
granted when it falls within ``max_wait`` of now, and moves TAT one emission interval on.
Without burst tolerance, granted slots are at least ``1/rate`` apart, so no window of one
second ever holds more than ``rate`` of them.

A caller may be granted a slot slightly in the future (at most ``max_wait`` away, a fraction
of a second) and waits for it; a slot further away is not taken, and the caller is told how
long until it should ask again (the e-mail task re-schedules itself with that countdown
instead of holding a worker). Refused callers are given *turns*: each refusal books the next
wake-up one interval after the previous one (a second key), so a thousand callers refused
at once come back one by one, about when a slot is free for each, instead of all at the
same instant and all but one refused again (the re-queue storm of a backlog).

A provider's 429 pauses the whole fleet until its reset time (:meth:`GlobalRateLimit.pause`).
Time is Redis's own clock (``TIME``), so machines with drifting clocks agree.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import redis

#: Redis key prefix of the limiter's state.
KEY_PREFIX = "shelfops:ratelimit:"
#: Slots are spaced this fraction more than ``1/rate``: sends reach the provider with a few
#: milliseconds of jitter, and exact spacing would then let ``rate + 1`` requests land in one of
#: its seconds now and then. One percent absorbs 10 ms of jitter per second at any rate.
SPACING_MARGIN = 0.01

# KEYS[1] = TAT key, KEYS[2] = pause key, KEYS[3] = next wake-up key; ARGV[1] = interval
# (µs), ARGV[2] = max wait (µs). Returns {granted (1/0), µs until the slot (granted) or until
# this caller's turn to ask again, Redis time now (µs)}.
_GCRA = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local function turn(earliest)
  local wake = tonumber(redis.call('GET', KEYS[3]) or '0')
  if wake < earliest then
    wake = earliest
  end
  redis.call('SET', KEYS[3], string.format('%d', wake + interval), 'PX',
             math.ceil((wake + interval - now) / 1000) + 1000)
  return {0, wake - now, now}
end
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then
  return turn(paused)
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
  tat = now
end
if tat - now > max_wait then
  return turn(tat - max_wait)
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX',
           math.ceil((new_tat - now) / 1000) + 1000)
return {1, tat - now, now}
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


@dataclass(frozen=True)
class Slot:
    """An answer of the limiter: a granted slot ``wait_s`` from now, or none for ``wait_s``.

    ``at_s`` is the slot's time on Redis's clock (epoch seconds) when granted, else the time of
    asking (so ``at_s + wait_s`` is a refused caller's turn).
    """

    granted: bool
    wait_s: float
    at_s: float


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
        return max(1, round(1_000_000 * (1 + SPACING_MARGIN) / self.rate))

    @property
    def _keys(self) -> list[str]:
        return [f"{KEY_PREFIX}{self.name}:{key}" for key in ("tat", "pause", "wake")]

    def reserve(self, max_wait_s: float = 0.0) -> Slot:
        """Take the next slot if it is at most ``max_wait_s`` away (the caller then waits
        ``wait_s`` before sending); otherwise take nothing and give the caller its turn to
        ask again, ``wait_s`` from now (turns are one interval apart)."""
        granted, wait_us, now_us = self._acquire(
            keys=self._keys, args=[self.interval_us, max(0, int(max_wait_s * 1_000_000))]
        )
        wait_s = int(wait_us) / 1_000_000
        at_s = (int(now_us) + (int(wait_us) if granted else 0)) / 1_000_000
        return Slot(granted=bool(granted), wait_s=wait_s, at_s=at_s)

    def try_acquire(self) -> float:
        """Take a slot free right now: 0.0 when granted, else the seconds until one may be."""
        slot = self.reserve(0.0)
        return 0.0 if slot.granted else max(slot.wait_s, 1e-6)

    def acquire_within(self, max_wait_s: float) -> float:
        """Take a slot at most ``max_wait_s`` away and wait for it: 0.0 when done, else (no
        slot taken) the seconds until asking again makes sense."""
        slot = self.reserve(max_wait_s)
        if not slot.granted:
            return max(slot.wait_s, 1e-6)
        if slot.wait_s > 0:
            # Bounded by max_wait_s (a fraction of a second): cheaper than a round trip
            # through the broker, and it keeps sends on their slots.
            time.sleep(slot.wait_s)
        return 0.0

    def pause(self, seconds: float) -> None:
        """Hold every sender back for ``seconds`` (the provider said 429); callers cap it."""
        if 0 < seconds < math.inf:
            self._pause(keys=[self._keys[1]], args=[int(seconds * 1_000_000)])
