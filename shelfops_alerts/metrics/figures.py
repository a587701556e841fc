"""Every figure the service reports, read at the moment it is asked for.

:data:`FAMILIES` is the catalogue: each metric's name, help and labels. :func:`collect_figures`
reads Redis and PostgreSQL (nothing is kept in any process, so any number of workers on any
number of machines need no shared state) and returns :class:`Figures`, which the Prometheus
collector renders and ``status --json`` prints. A source that cannot be read is reported
with ``shelfops_scrape_source_up{source=…} 0`` and its metrics are left out; the other
source's figures are still served.

Labels are bounded: queues, alert types, severities and delivery statuses come from the
domain's fixed vocabularies, never from data (no customer, store or product label).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import redis

from shelfops_alerts.config import Settings
from shelfops_alerts.metrics import broker, database
from shelfops_alerts.vocabulary import ALERT_TYPES, DELIVERY_STATUSES, QUEUES, SEVERITIES

logger = logging.getLogger(__name__)

#: Seconds a Redis command of a scrape may take.
REDIS_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Family:
    """One metric: name, help text, label names."""

    name: str
    help: str
    labels: tuple[str, ...] = ()


FAMILIES: tuple[Family, ...] = (
    Family(
        "shelfops_queue_depth",
        "Messages waiting in the queue, as the broker holds them (every priority step).",
        ("queue",),
    ),
    Family(
        "shelfops_queue_unacked",
        "Messages taken by a worker and not yet acknowledged, all queues"
        " (running, prefetched, or waiting for a countdown).",
    ),
    Family(
        "shelfops_queue_consumers",
        "Worker nodes consuming the queue that announced themselves within the last 30 s.",
        ("queue",),
    ),
    Family(
        "shelfops_beat_last_tick_timestamp_seconds",
        "Unix time of the latest tick of beat's scheduler (about every 15 s while it runs).",
    ),
    Family(
        "shelfops_alerts_active",
        "Active (open or acknowledged) alerts by type and severity.",
        ("alert_type", "severity"),
    ),
    Family("shelfops_deliveries", "E-mail deliveries by status.", ("status",)),
    Family(
        "shelfops_delivery_oldest_pending_seconds",
        "Age of the oldest delivery waiting for an attempt (pending or sending), since it"
        " was queued; 0 when none waits.",
    ),
    Family(
        "shelfops_outbox_unpublished_changes",
        "Alert changes committed but not yet published on Redis.",
    ),
    Family(
        "shelfops_outbox_oldest_unpublished_seconds",
        "Age of the oldest unpublished alert change; 0 when there is none.",
    ),
    Family(
        "shelfops_sweep_last_started_timestamp_seconds",
        "Unix time the latest sweep started.",
    ),
    Family(
        "shelfops_sweep_last_finished_timestamp_seconds",
        "Unix time the latest finished sweep finished.",
    ),
    Family(
        "shelfops_sweep_last_duration_seconds",
        "Seconds the latest finished sweep took, from its start until its last batch.",
    ),
    Family(
        "shelfops_sweep_last_skus_checked",
        "SKUs the latest finished sweep checked.",
    ),
    Family(
        "shelfops_sweep_last_batches_failed",
        "Batches of the latest finished sweep whose check or persist failed.",
    ),
    Family("shelfops_sweep_running", "1 while a sweep holds the sweep lock, else 0."),
    Family(
        "shelfops_sweep_interval_seconds",
        "Configured seconds between beat's sweeps (SHELFOPS_SWEEP_INTERVAL_S).",
    ),
    Family(
        "shelfops_dead_letters",
        "Messages parked as dead letters (they kept killing their worker), waiting for an"
        " operator to replay or discard them.",
    ),
    Family(
        "shelfops_batches_unfinished",
        "Queued batch chains whose publish has not run yet (in flight, or lost by the broker"
        " until the relay queues them again).",
    ),
    Family(
        "shelfops_scrape_source_up",
        "1 when the source could be read during this scrape, else 0.",
        ("source",),
    ),
    Family(
        "shelfops_scrape_duration_seconds",
        "Seconds this scrape took to read every figure.",
    ),
)
NAMES = frozenset(family.name for family in FAMILIES)

#: One sample: its label values (in the family's label order) and its value.
Sample = tuple[tuple[str, ...], float]


@dataclass
class Figures:
    """The samples of one collection, by family name."""

    samples: dict[str, list[Sample]] = field(default_factory=dict)

    def add(self, name: str, value: float | None, *labels: str) -> None:
        """Add a sample (None: nothing to report, the sample is left out)."""
        assert name in NAMES, name
        if value is not None:
            self.samples.setdefault(name, []).append((labels, float(value)))

    def value(self, name: str, *labels: str) -> float | None:
        """The value of one sample, or None when it was left out."""
        for sample_labels, value in self.samples.get(name, []):
            if sample_labels == labels:
                return value
        return None

    def as_json(self) -> dict[str, Any]:
        """Name -> value for unlabelled metrics; name -> list of {labels, value} otherwise."""
        out: dict[str, Any] = {}
        for family in FAMILIES:
            samples = self.samples.get(family.name)
            if samples is None:
                continue
            if not family.labels:
                out[family.name] = samples[0][1]
            else:
                out[family.name] = [
                    {"labels": dict(zip(family.labels, labels, strict=True)), "value": value}
                    for labels, value in samples
                ]
        return out


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
    )


def _from_redis(settings: Settings, figures: Figures) -> None:
    found = broker.read_figures(_redis(settings.redis_url.reveal()), QUEUES)
    for queue in QUEUES:
        figures.add("shelfops_queue_depth", found.depth[queue], queue)
        figures.add("shelfops_queue_consumers", found.consumers[queue], queue)
    figures.add("shelfops_queue_unacked", found.unacked)
    figures.add("shelfops_beat_last_tick_timestamp_seconds", found.beat_last_tick)
    figures.add("shelfops_sweep_running", 1 if found.sweep_running else 0)


def _from_database(settings: Settings, figures: Figures) -> None:
    from shelfops_alerts.db import session_factory
    from shelfops_alerts.dead_letters.store import count_parked
    from shelfops_alerts.ledger import store as ledger

    with session_factory(settings).begin() as session:
        found = database.read_figures(session)
        parked = count_parked(session)
        unfinished = ledger.unfinished(session)
    for alert_type in ALERT_TYPES:
        for severity in SEVERITIES:
            count = found.active_alerts.get((alert_type, severity), 0)
            figures.add("shelfops_alerts_active", count, alert_type, severity)
    for status in DELIVERY_STATUSES:
        figures.add("shelfops_deliveries", found.deliveries.get(status, 0), status)
    figures.add("shelfops_delivery_oldest_pending_seconds", found.oldest_waiting_delivery_s or 0)
    figures.add("shelfops_outbox_unpublished_changes", found.unpublished_changes)
    figures.add("shelfops_outbox_oldest_unpublished_seconds", found.oldest_unpublished_s or 0)
    figures.add("shelfops_sweep_last_started_timestamp_seconds", found.sweep_last_started)
    figures.add("shelfops_sweep_last_finished_timestamp_seconds", found.sweep_last_finished)
    figures.add("shelfops_sweep_last_duration_seconds", found.sweep_last_duration_s)
    figures.add("shelfops_sweep_last_skus_checked", found.sweep_last_skus_checked)
    figures.add("shelfops_sweep_last_batches_failed", found.sweep_last_batches_failed)
    figures.add("shelfops_dead_letters", parked)
    figures.add("shelfops_batches_unfinished", unfinished)


#: Where figures come from; each is read independently, so one that is down hides only its own.
SOURCES: dict[str, Callable[[Settings, Figures], None]] = {
    "redis": _from_redis,
    "database": _from_database,
}


def collect_figures(settings: Settings) -> Figures:
    """Read every figure now, from every source."""
    began = time.perf_counter()
    figures = Figures()
    figures.add("shelfops_sweep_interval_seconds", settings.sweep_interval_s)
    for source, read in SOURCES.items():
        try:
            read(settings, figures)
            up = 1
        except Exception as exc:  # a source that is down must not take the others with it
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            logger.warning("metrics: %s could not be read: %s", source, reason)
            up = 0
        figures.add("shelfops_scrape_source_up", up, source)
    figures.add("shelfops_scrape_duration_seconds", time.perf_counter() - began)
    return figures
