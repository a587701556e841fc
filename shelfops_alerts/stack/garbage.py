"""How the worker processes run Python's cyclic garbage collector: tuned once per process,
paused while a batch makes its many small objects.

A batch of 5,000 SKUs allocates a few hundred thousand small containers (rows, keys,
tuples of a key and a type, dicts of a message), almost none of them in a reference cycle:
reference counting frees them. Their allocations alone, though, trigger the cyclic
collector. With the default thresholds (a collection every 700 net allocations) it ran
about 40 times per batch, each pass walking the young objects and every so often all the
process's objects (the libraries' modules, classes and caches): in a check of a sweep with
history about 30 µs of CPU per SKU (measured with ``gc.callbacks``), a third of the check's
Python. With the thresholds of :func:`tune_collector`, about 5 µs; with the collector
paused during a check (:func:`paused_gc`), none. A cycle made meanwhile is collected once
the collector runs again.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

#: Net container allocations between two young-generation collections (default 700).
YOUNG_THRESHOLD = 50_000
#: Young collections per middle one, and middle ones per full one (defaults 10, 10).
OLDER_THRESHOLDS = (20, 100)


def tune_collector() -> None:
    """Collect less often, and leave the objects of the process's start (modules, the app,
    settings) out of every later collection (``gc.freeze``). Garbage in cycles is still
    collected, only later."""
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block with the cyclic collector off (left off if it already was)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
