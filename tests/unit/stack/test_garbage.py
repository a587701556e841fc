"""A worker process collects cyclic garbage less often, never re-walks its start-up objects,
and pauses the collector during a batch (stack/garbage.py)."""

from __future__ import annotations

import gc

import pytest

from shelfops_alerts.stack.garbage import (
    OLDER_THRESHOLDS,
    YOUNG_THRESHOLD,
    paused_gc,
    tune_collector,
)


@pytest.fixture()
def restored_collector():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_tuning_raises_the_thresholds_and_freezes_what_exists(restored_collector):
    # Given a process with the default collector and objects alive from its start
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    alive = [[n] for n in range(1000)]

    # When it is tuned as a worker process is
    tune_collector()

    # Then young collections wait for many more allocations, and what existed is frozen
    assert gc.get_threshold() == (YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    assert gc.get_freeze_count() >= len(alive)


def test_cyclic_garbage_is_still_collected(restored_collector):
    # Given a tuned process and a cycle nobody refers to any more
    tune_collector()

    class Node:
        pass

    node = Node()
    node.self = node
    collected_before = sum(s["collected"] for s in gc.get_stats())
    del node

    # When a collection runs (as one does after enough allocations)
    gc.collect()

    # Then the cycle is freed
    assert sum(s["collected"] for s in gc.get_stats()) > collected_before


def test_a_paused_block_runs_without_the_collector_and_restores_it():
    # Given the collector on
    gc.enable()

    # When a block runs paused
    with paused_gc():
        during = gc.isenabled()

    # Then it was off inside and is on again after
    assert during is False
    assert gc.isenabled() is True


def test_a_paused_block_leaves_a_collector_that_was_off_off():
    # Given the collector already off (another pause, or the process's choice)
    gc.disable()
    try:
        # When a block runs paused, even one that raises
        with pytest.raises(RuntimeError), paused_gc():
            raise RuntimeError("batch failed")

        # Then the collector stays off: the pause does not switch on what it did not switch off
        assert gc.isenabled() is False
    finally:
        gc.enable()
