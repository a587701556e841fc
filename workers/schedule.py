"""The beat schedule: the sweep of every SKU, and the outbox relay."""

from __future__ import annotations

from typing import Any

from shelfops_alerts.config import Settings
from shelfops_alerts.vocabulary import FLUSH_DIGESTS_TASK, RELAY_TASK, SWEEP_TASK

#: How often the relay looks for changes that were committed but never published or mailed.
RELAY_INTERVAL_S = 30.0
#: How often due or stuck e-mail digests are looked for (each is also queued for its due time).
DIGEST_FLUSH_INTERVAL_S = 15.0


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "sweep-all-skus": {
            "task": SWEEP_TASK,
            "schedule": settings.sweep_interval_s,
        },
        "relay-outbox": {
            "task": RELAY_TASK,
            "schedule": RELAY_INTERVAL_S,
        },
        "flush-digests": {
            "task": FLUSH_DIGESTS_TASK,
            "schedule": DIGEST_FLUSH_INTERVAL_S,
        },
    }
