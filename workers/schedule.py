"""The beat schedule: the sweep of every SKU, and the outbox relay."""

from __future__ import annotations

from typing import Any

from shelfops_alerts.config import Settings

#: How often the relay looks for changes that were committed but never published or mailed.
RELAY_INTERVAL_S = 30.0


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
    }
