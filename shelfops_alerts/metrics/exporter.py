"""Serving ``/metrics``: a WSGI and an ASGI app (for the web service to mount), and the
standalone exporter behind ``shelfops-alerts metrics``.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from prometheus_client import make_asgi_app, make_wsgi_app, start_http_server

from shelfops_alerts.config import Settings
from shelfops_alerts.metrics.collector import registry_for

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9808


def wsgi_app(settings: Settings) -> Callable[..., Any]:
    """A WSGI app answering every GET with one scrape (mount it at ``/metrics``)."""
    return make_wsgi_app(registry_for(settings))


def asgi_app(settings: Settings) -> Callable[..., Any]:
    """An ASGI app answering every GET with one scrape, e.g.
    ``fastapi_app.mount("/metrics", asgi_app(settings))``."""
    return make_asgi_app(registry_for(settings))


def serve(settings: Settings, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve ``/metrics`` on ``host:port`` until SIGTERM or Ctrl-C (one thread per request)."""
    from shelfops_alerts.metrics.broker import queue_keys

    queue_keys("alerts")  # imports kombu's transport now, not during the first scrape
    server, thread = start_http_server(port, addr=host, registry=registry_for(settings))
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    logger.info("metrics on http://%s:%d/metrics", host, server.server_port)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.shutdown()
        server.server_close()
        thread.join(5)
