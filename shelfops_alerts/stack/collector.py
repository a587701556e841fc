"""How a worker process runs Python's cyclic garbage collector.

A batch of 5,000 SKUs allocates a few hundred thousand small containers (rows, tuples,
dicts of a message), almost none of them in a reference cycle: reference counting frees
them. With the default thresholds (a collection every 700 net allocations) the collector
still ran about 40 times per batch, each pass walking the young objects and every so often
all the process's objects: in a check of a sweep with history it took about 30 µs of CPU
per SKU (measured with ``gc.callbacks``), a third of the check's Python. With the
thresholds below, about 5 µs. A sweep's check, its JSON and persist's read also run with
the collector paused (:func:`shelfops_alerts.detect.collector.paused_gc`).
"""

from __future__ import annotations

import gc

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
