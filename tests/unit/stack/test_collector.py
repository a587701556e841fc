"""A worker process collects cyclic garbage less often, and never re-walks its start-up
objects (stack/collector.py)."""

from __future__ import annotations

import gc

import pytest

from shelfops_alerts.stack.collector import OLDER_THRESHOLDS, YOUNG_THRESHOLD, tune_collector


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
