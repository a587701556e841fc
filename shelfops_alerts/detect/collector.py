"""Pausing Python's cyclic garbage collector while a batch makes its many small objects.

A batch of thousands of SKUs makes tens of thousands of short-lived objects (rows, keys,
tuples of a key and a type), none of them in a reference cycle: reference counting frees
them. Their allocations alone, though, trigger the cyclic collector, and its full passes
walk every long-lived object of the worker (the libraries' modules, classes and caches):
about 9 µs of CPU per SKU of a sweep's check (``bench/batch_profile.py``), more than the
check's own work. A cycle made meanwhile is collected once the collector is on again.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


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
