"""Redis clients that never wait forever: socket timeouts, keepalives, health checks.

Every Redis client of the workers (the tasks' client, the e-mail rate limiter, the sweep
lock) and the broker connection (Celery's ``broker_transport_options``) use the same
options. A command on a dead or stalled server fails with ``redis.TimeoutError`` after
``SHELFOPS_REDIS_TIMEOUT_S`` (a transient fault, retried), instead of hanging its worker.
Clients that block on purpose (``listen``'s pub/sub) do not use them.
"""

from __future__ import annotations

from typing import Any

import redis

#: A connection idle this long is PINGed before its next command (redis-py), and kombu checks
#: its long-lived BRPOP and pub/sub connections this often; kombu's default.
HEALTH_CHECK_INTERVAL_S = 25


def redis_options(timeout_s: float) -> dict[str, Any]:
    """Keyword arguments for ``redis.Redis`` and Celery's ``broker_transport_options``
    (``timeout_s``: SHELFOPS_REDIS_TIMEOUT_S)."""
    return {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
        "socket_keepalive": True,
        "health_check_interval": HEALTH_CHECK_INTERVAL_S,
    }


def redis_client(url: str, timeout_s: float) -> redis.Redis:
    """A client of ``url`` with :func:`redis_options`."""
    return redis.Redis.from_url(url, **redis_options(timeout_s))
