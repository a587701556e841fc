"""The web service keeps full garbage collections out of the requests' way."""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterator

import pytest

from shelfops_alerts.web.app import settle_heap


@pytest.fixture
def collections() -> Iterator[list[tuple[int, int]]]:
    """(generation, objects collected) of every collection while the test runs; the
    collector's thresholds and frozen heap are restored afterwards."""
    seen: list[tuple[int, int]] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            seen.append((info["generation"], info["collected"]))

    thresholds = gc.get_threshold()
    gc.callbacks.append(record)
    try:
        yield seen
    finally:
        gc.callbacks.remove(record)
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def make_cycles(count: int, in_flight: int = 2000) -> None:
    """``count`` pairs of lists referring to each other, each kept alive while the next
    ``in_flight`` are made (like requests in flight), then dropped: garbage only the
    collector can free, some of it surviving young collections, as a server's does."""
    alive: deque[list[object]] = deque(maxlen=in_flight)
    for _ in range(count):
        first: list[object] = []
        second: list[object] = [first]
        first.append(second)
        alive.append(first)


def test_cyclic_garbage_is_freed_by_young_collections_without_a_full_one(collections):
    # Given the heap settled as the web service does after start-up
    settle_heap()
    collections.clear()
    # When requests make a lot of cyclic garbage (here 300,000 cycles: several hundred
    # young collections' worth, and dozens of full ones' under CPython's default)
    make_cycles(300_000)
    # Then young collections free most of it (600,000 lists), and no automatic full
    # collection walks the heap
    young = [collected for generation, collected in collections if generation < 2]
    assert len(young) > 100
    assert sum(young) > 300_000
    assert [generation for generation, _ in collections if generation == 2] == []
    # And the rest waits for the next full collection, which frees it all
    assert gc.collect() + sum(young) >= 600_000 - 2 * 2000


def test_the_default_collector_would_have_run_full_collections(collections):
    # Given the heap settled, but CPython's default thresholds (as before this change)
    settle_heap()
    gc.set_threshold(700, 10, 10)
    collections.clear()
    # When the same garbage is made
    make_cycles(300_000)
    # Then full collections run among the young ones: what settle_heap() keeps away
    assert any(generation == 2 for generation, _ in collections)
