"""One probe per service, each checking that service alone (container health checks).

* ``worker``: the worker node ``NAME@<this host>`` answers a ping through the broker (its
  consumer is alive and reading control messages).
* ``beat``: beat on this host ticked within :data:`~shelfops_alerts.health.presence.STALE_AFTER_S`.
* ``web``, ``flower``, ``metrics``: the HTTP service on this host answers its health page.

A probe returns a :class:`ProbeResult`; ``shelfops-alerts probe`` exits 0 when it is ok.
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from shelfops_alerts.config import Settings
from shelfops_alerts.health import presence

#: Seconds a probe waits for its answer.
PROBE_TIMEOUT_S = 3.0
#: Health page and default port of each HTTP service.
HTTP_SERVICES = {
    "web": ("/healthz", 8000),
    "flower": ("/healthcheck", 5555),
    "metrics": ("/metrics", 9808),
}


@dataclass(frozen=True)
class ProbeResult:
    """The verdict and a line saying why."""

    ok: bool
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "detail": self.detail}


def this_host() -> str:
    """The host name Celery puts in node names (``%h``)."""
    return socket.gethostname()


def probe_worker(
    settings: Settings, *, name: str, timeout_s: float = PROBE_TIMEOUT_S
) -> ProbeResult:
    """Ping the worker node ``name@<this host>`` (or ``name`` when it names a host)."""
    from shelfops_alerts.intake.client import _producer

    node = name if "@" in name else f"{name}@{this_host()}"
    try:
        replies = _producer(settings.redis_url.reveal()).control.ping(
            destination=[node], timeout=timeout_s
        )
    except Exception as exc:  # the broker is unreachable: the worker cannot be reached either
        return ProbeResult(False, f"worker {node}: broker unreachable: {exc}")
    if any(node in reply for reply in replies or []):
        return ProbeResult(True, f"worker {node} answered")
    return ProbeResult(False, f"worker {node} did not answer within {timeout_s:g} s")


def probe_beat(settings: Settings, *, host: str | None = None) -> ProbeResult:
    """Beat on ``host`` (default: this one) ticked recently."""
    import redis

    host = host or this_host()
    client = redis.Redis.from_url(
        settings.redis_url.reveal(),
        socket_timeout=PROBE_TIMEOUT_S,
        socket_connect_timeout=PROBE_TIMEOUT_S,
    )
    try:
        seen = presence.last_seen(client, presence.BEAT_KEY, host)
    except redis.RedisError as exc:
        return ProbeResult(False, f"beat on {host}: Redis unreachable: {exc}")
    if seen is None:
        return ProbeResult(False, f"beat on {host} never ticked")
    age = time.time() - seen
    if age > presence.STALE_AFTER_S:
        return ProbeResult(False, f"beat on {host} last ticked {age:.0f} s ago")
    return ProbeResult(True, f"beat on {host} ticked {age:.0f} s ago")


def probe_http(service: str, *, port: int | None = None, host: str = "127.0.0.1") -> ProbeResult:
    """GET the service's health page on ``host:port``; ok on HTTP 200."""
    path, default_port = HTTP_SERVICES[service]
    url = f"http://{host}:{port or default_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        return ProbeResult(False, f"{service} at {url}: {getattr(exc, 'reason', exc)}")
    if status != 200:
        return ProbeResult(False, f"{service} at {url}: HTTP {status}")
    return ProbeResult(True, f"{service} at {url}: HTTP 200")
