"""The beat schedule: the sweep of every SKU, and the housekeeping of the outbox.

Housekeeping runs as few entries, as rarely, as its job allows, so Flower's task list shows
the pipeline's own tasks. What each job needs (measured for issue 11; see the README):

* ``shelfops.relay_outbox`` only catches up on what a crash left behind: changes committed
  but not published, deliveries stuck pending or sending, and digests due or stuck (the
  normal path publishes right after the commit and queues each digest with a countdown for
  the moment its window closes). It takes what has waited SHELFOPS_OUTBOX_RELAY_AFTER_S, so
  running it once per that period recovers anything within twice that time.
* ``shelfops.flush_digests`` re-queues due or stuck digests, which the relay also does; it
  gets no entry of its own unless :data:`DIGEST_FLUSH_INTERVAL_S` is set.
* ``shelfops.prune`` deletes what the retention settings no longer keep. Ages are counted in
  days, so once an hour keeps each batch small; it is its own entry rather than part of the
  relay because a prune with a backlog may run for minutes (its budget), and the relay must
  stay a few milliseconds to keep its promise of recovery within two relay periods.
"""

from __future__ import annotations

from typing import Any

from shelfops_alerts.config import Settings
from shelfops_alerts.vocabulary import FLUSH_DIGESTS_TASK, PRUNE_TASK, RELAY_TASK, SWEEP_TASK

#: How often the relay runs; None: once per SHELFOPS_OUTBOX_RELAY_AFTER_S (default 60 s).
RELAY_INTERVAL_S: float | None = None
#: How often due or stuck e-mail digests get a run of their own; None: no entry (the relay
#: re-queues them at its own pace).
DIGEST_FLUSH_INTERVAL_S: float | None = None
#: How often old rows are pruned (24 runs a day, beside the relay's 1,440).
PRUNE_INTERVAL_S = 3600.0


def relay_interval_s(settings: Settings) -> float:
    """Seconds between two relay runs."""
    return RELAY_INTERVAL_S if RELAY_INTERVAL_S is not None else settings.outbox_relay_after_s


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    schedule: dict[str, dict[str, Any]] = {
        "sweep-all-skus": {
            "task": SWEEP_TASK,
            "schedule": settings.sweep_interval_s,
        },
        "relay-outbox": {
            "task": RELAY_TASK,
            "schedule": relay_interval_s(settings),
        },
        "prune": {
            "task": PRUNE_TASK,
            "schedule": PRUNE_INTERVAL_S,
        },
    }
    if DIGEST_FLUSH_INTERVAL_S is not None:
        schedule["flush-digests"] = {
            "task": FLUSH_DIGESTS_TASK,
            "schedule": DIGEST_FLUSH_INTERVAL_S,
        }
    return schedule
