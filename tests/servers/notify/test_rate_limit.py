"""The fleet-wide GCRA limiter, against the real Redis of the test stack."""

from __future__ import annotations

import multiprocessing
import time
import uuid

import pytest
import redis

from shelfops_alerts.notify.rate_limit import GlobalRateLimit


@pytest.fixture()
def limiter_for(settings):
    client = redis.Redis.from_url(settings.redis_url.reveal())
    name = f"test-{uuid.uuid4().hex}"  # a key of its own: tests never share a budget

    def make(rate: float) -> GlobalRateLimit:
        return GlobalRateLimit(client, rate, name=name)

    return make


def test_slots_are_spaced_one_interval_apart(limiter_for):
    limiter = limiter_for(20)  # one slot every 50 ms
    # Given a fresh budget, the first send is granted at once
    assert limiter.try_acquire() == 0.0
    # When another asks right after, it is told to wait at most one interval
    wait = limiter.try_acquire()
    assert 0 < wait <= limiter.interval_us / 1e6
    # And a reservation within a quarter second gets consecutive slots (at least) 50 ms apart
    slots = [limiter.reserve(0.25) for _ in range(6)]
    granted = [s for s in slots if s.granted]
    assert 4 <= len(granted) <= 5
    gaps = [b.at_s - a.at_s for a, b in zip(granted, granted[1:], strict=False)]
    assert gaps == pytest.approx([limiter.interval_us / 1e6] * len(gaps), abs=1e-6)
    assert all(gap >= 0.05 for gap in gaps)
    # And a slot further away than that is not taken: the caller is told when to come back
    assert not slots[-1].granted and slots[-1].wait_s > 0


def test_pause_holds_every_sender_back_and_never_shortens(limiter_for):
    limiter = limiter_for(100)
    # Given the provider said 429 with five seconds to wait, and later one second
    limiter.pause(5)
    limiter.pause(1)
    # Then nobody gets a slot, not even one within the lookahead, for about five seconds
    slot = limiter.reserve(0.25)
    assert not slot.granted
    assert 4 < slot.wait_s <= 5


def test_a_rate_below_zero_is_refused(limiter_for):
    with pytest.raises(ValueError):
        limiter_for(0)


def _grab(redis_url: str, name: str, rate: float, seconds: float, out) -> None:
    limiter = GlobalRateLimit(redis.Redis.from_url(redis_url), rate, name=name)
    granted = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        slot = limiter.reserve(0.0)
        if slot.granted:
            granted.append(slot.at_s)
    out.put(granted)


def test_processes_sharing_one_key_share_one_budget(settings):
    # Given four processes hammering the same budget of 40 per second for 1.5 s
    name, rate = f"test-{uuid.uuid4().hex}", 40.0
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_grab, args=(settings.redis_url.reveal(), name, rate, 1.5, out))
        for _ in range(4)
    ]
    for p in procs:
        p.start()
    per_process = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)

    # Then the slots they got together are never closer than 1/rate (Redis time)
    slots = sorted(t for granted in per_process for t in granted)
    assert len(slots) >= 20
    assert sum(1 for granted in per_process if granted) >= 2  # really shared
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert min(gaps) >= 1 / rate - 1e-6
    # And no window of one second holds more than the rate
    assert max(sum(1 for t in slots if s <= t < s + 1) for s in slots) <= rate


def test_refused_callers_get_turns_one_interval_apart(limiter_for):
    limiter = limiter_for(10)  # one slot every ~100 ms
    # Given the next two seconds of slots are taken
    granted = [limiter.reserve(2.0) for _ in range(20)]
    assert all(s.granted for s in granted)
    # When five callers are refused at once
    refused = [limiter.reserve(0.0) for _ in range(5)]
    # Then each is told a different time to come back, one interval after the other,
    # starting about when the taken slots run out
    assert not any(s.granted for s in refused)
    turns = [s.at_s + s.wait_s for s in refused]  # on Redis's clock (at_s: when asked)
    gaps = [b - a for a, b in zip(turns, turns[1:], strict=False)]
    assert gaps == pytest.approx([limiter.interval_us / 1e6] * 4, abs=1e-5)
    assert 1.7 < refused[0].wait_s <= 2.1


def test_callers_refused_during_a_pause_come_back_one_by_one_after_it(limiter_for):
    limiter = limiter_for(20)
    limiter.pause(3)
    refused = [limiter.reserve(0.25) for _ in range(4)]
    # Then not all at the pause's end: the first then, the others an interval apart
    assert 2.5 < refused[0].wait_s <= 3.0
    turns = [s.at_s + s.wait_s for s in refused]
    gaps = [b - a for a, b in zip(turns, turns[1:], strict=False)]
    assert gaps == pytest.approx([limiter.interval_us / 1e6] * 3, abs=1e-5)
