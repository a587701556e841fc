"""Operators' figures in Prometheus format, read from Redis and PostgreSQL at scrape time.

* :func:`collect_figures` — every figure now (also what ``status --json`` prints);
* :class:`ShelfopsCollector`, :func:`render_metrics` — the Prometheus text format;
* :func:`asgi_app` / :func:`wsgi_app` — ``/metrics`` for the web service to mount;
  :func:`serve` — the standalone exporter (``shelfops-alerts metrics``).
"""

from shelfops_alerts.metrics.collector import ShelfopsCollector, registry_for, render_metrics
from shelfops_alerts.metrics.exporter import DEFAULT_PORT, asgi_app, serve, wsgi_app
from shelfops_alerts.metrics.figures import FAMILIES, NAMES, Figures, collect_figures

__all__ = [
    "DEFAULT_PORT",
    "FAMILIES",
    "NAMES",
    "Figures",
    "ShelfopsCollector",
    "asgi_app",
    "collect_figures",
    "registry_for",
    "render_metrics",
    "serve",
    "wsgi_app",
]
