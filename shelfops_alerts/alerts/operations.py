"""An operator's action from start to finish: change the alert, commit, then announce it.

The command line (``alerts ack|resolve``) and the web service (``POST /v1/alerts/{id}/ack``,
the dashboard's buttons) both call :func:`act_and_publish`, so a change made anywhere is
published the same way: committed first, then PUBLISHed on ``alerts:{customer_id}`` and
appended to the customer's stream, then marked published (the relay catches up if the
process dies in between).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.alerts.actions import Transition, get_alert
from shelfops_alerts.publish.changes import DEFAULT_STREAM_MAXLEN, publish_committed


def act_and_publish(
    factory: sessionmaker[Session],
    client: redis.Redis,
    action: Callable[..., Transition],
    *,
    alert_id: int,
    customer_id: str | None = None,
    stream_maxlen: int = DEFAULT_STREAM_MAXLEN,
    **details: Any,
) -> Transition:
    """Apply ``action`` (``acknowledge`` or ``resolve``) in its own transaction, then publish.

    With ``customer_id`` the alert must be that customer's, else
    :class:`~shelfops_alerts.alerts.actions.AlertNotFound` and nothing changes.
    ``details`` are the action's own arguments (``actor``, ``note``, ``outcome``).
    """
    with factory.begin() as session:
        if customer_id is not None:
            get_alert(session, alert_id=alert_id, customer_id=customer_id)
        done = action(session, alert_id=alert_id, **details)
    with factory.begin() as session:
        publish_committed(
            session, client, history_ids=[done.history_id], stream_maxlen=stream_maxlen
        )
    return done
