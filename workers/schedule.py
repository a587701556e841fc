"""The beat schedule: the sweep of every SKU, and the outbox relay."""

from __future__ import annotations

from typing import Any

from shelfops_alerts.config import Settings

#: How often the relay looks for changes that were committed but never published or mailed.
RELAY_INTERVAL_S = 30.0
#: How often due or stuck e-mail digests are looked for (each is also queued for its due time).
DIGEST_FLUSH_INTERVAL_S = 15.0


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "sweep-all-skus": {
            "task": "shelfops.sweep_all_skus",
            "schedule": settings.sweep_interval_s,
        },
        "relay-outbox": {
            "task": "shelfops.relay_outbox",
            "schedule": RELAY_INTERVAL_S,
        },
        "flush-digests": {
            "task": "shelfops.flush_digests",
            "schedule": DIGEST_FLUSH_INTERVAL_S,
        },
    }
