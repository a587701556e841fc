"""The Prometheus side: a custom collector that reads every figure at scrape time.

``ShelfopsCollector(settings)`` is registered in its own registry (no process or platform
metrics of the exporter itself, which would differ per process), and
:func:`render_metrics` turns one scrape into the text exposition format.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from shelfops_alerts.config import Settings
from shelfops_alerts.metrics.figures import FAMILIES, Figures, collect_figures


def metric_families(figures: Figures) -> Iterator[Metric]:
    """Every family of the catalogue as a gauge, with the samples ``figures`` has for it."""
    for family in FAMILIES:
        gauge = GaugeMetricFamily(family.name, family.help, labels=list(family.labels))
        for labels, value in figures.samples.get(family.name, []):
            gauge.add_metric(list(labels), value)
        yield gauge


class ShelfopsCollector(Collector):
    """Reads Redis and PostgreSQL on each ``collect()``; serves :data:`FAMILIES`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        yield from metric_families(collect_figures(self.settings))

    def describe(self) -> Iterator[Metric]:
        # Registering must not read any server: describe from the catalogue, without samples.
        yield from metric_families(Figures())


def registry_for(settings: Settings) -> CollectorRegistry:
    """A registry holding only the service's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ShelfopsCollector(settings))
    return registry


def render_metrics(settings: Settings) -> tuple[bytes, str]:
    """One scrape: the body in Prometheus text format, and its content type."""
    return generate_latest(registry_for(settings)), CONTENT_TYPE_LATEST
