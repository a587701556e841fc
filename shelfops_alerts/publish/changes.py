"""Publishing alert changes on Redis pub/sub, for live dashboards.

Each change goes to ``alerts:{customer_id}`` as one JSON object (the fields DESIGN.md
lists), and the same JSON is appended to the customer's Redis Stream
``alerts-stream:{customer_id}`` (capped at about ``SHELFOPS_STREAM_MAXLEN`` entries), from
which the web service's WebSocket replays what a reconnecting client missed. Changes are
read in one query, sent by one Redis script call per customer, and marked published in one
statement.
Pub/sub delivers at most once to whoever listens; a change whose publishing was
interrupted is published again by the relay, so a listener may see a change twice but
never misses one that was committed (``alert_id`` + ``updated_at`` and ``history_id``
identify a change).

:func:`publish_committed` is the one publish-after-commit sequence (load → publish → mark),
used by operators' actions (CLI and web), the publish task and the relay alike.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import redis
from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.db import array_literal, execute_prepared, prepared, runs_prepared
from shelfops_alerts.ledger.store import done_sql, mark_done
from shelfops_alerts.vocabulary import CHANNEL_PREFIX, STREAM_PREFIX

#: The field of a stream entry that holds the change's JSON.
STREAM_FIELD = "change"
#: Entries a stream keeps when the caller does not say (the setting's default).
DEFAULT_STREAM_MAXLEN = 10000

#: What a change's message is made of (:func:`change_message` reads it by position).
_CHANGE_COLUMNS = """
    SELECT h.id AS history_id, h.event, h.severity AS change_severity,
           h.status AS change_status, h.changed_at,
           a.id AS alert_id, a.customer_id, a.store_id, a.product_id, a.alert_type,
           a.severity, a.status, a.message, a.metadata, a.created_at, a.updated_at
"""
_READ_CHANGES = text(
    f"""
    {_CHANGE_COLUMNS}
    FROM alert_history h JOIN alerts a ON a.id = h.alert_id
    WHERE h.id = ANY(CAST(:ids AS bigint[]))
      AND (NOT CAST(:unpublished_only AS boolean) OR h.published_at IS NULL)
    ORDER BY h.id
    """
)

_MARK_PUBLISHED = text(
    "UPDATE alert_history SET published_at = now()"
    " WHERE id = ANY(CAST(:ids AS bigint[])) AND published_at IS NULL"
)

#: Mark the changes published and read them, in one round trip; and the batch's ledger row
#: done (``:ledger_id``, NULL: none), in the same statement. The marks commit only with the
#: caller's transaction, after the PUBLISH (as if marked after it), and hold the rows until
#: then, so a redelivered publish of the same changes waits and then finds them marked.
_MARK_AND_READ = prepared(
    "publish_mark_and_read",
    text(
        f"""
    WITH marked AS (
        UPDATE alert_history SET published_at = now()
        WHERE id = ANY(CAST(:ids AS bigint[])) AND published_at IS NULL
        RETURNING id, alert_id, event, severity, status, changed_at
    ),
    done AS ({done_sql("CAST(:ledger_id AS bigint)")})
    {_CHANGE_COLUMNS}
    FROM marked h JOIN alerts a ON a.id = h.alert_id
    ORDER BY h.id
    """
    ),
)

_UNPUBLISHED = text(
    """
    SELECT id FROM alert_history
    WHERE published_at IS NULL AND changed_at < now() - make_interval(secs => :older_than)
    ORDER BY id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)


#: PUBLISH each of one customer's changes (ARGV[3..], in order) on its channel (ARGV[1]) and
#: append it to its stream (KEYS[1], trimmed to about ARGV[2] entries): one command for a
#: batch's changes instead of two per change, whose packing and replies cost the client
#: about as much as all the rest of publishing.
_PUBLISH_ALL = f"""
for i = 3, #ARGV do
    redis.call('PUBLISH', ARGV[1], ARGV[i])
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', '{STREAM_FIELD}', ARGV[i])
end
return #ARGV - 2
"""


def channel_for(customer_id: str) -> str:
    """The pub/sub channel a customer's dashboards subscribe to."""
    return f"{CHANNEL_PREFIX}{customer_id}"


def stream_for(customer_id: str) -> str:
    """The Redis Stream holding a customer's recent alert changes, for replay."""
    return f"{STREAM_PREFIX}{customer_id}"


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def change_message(row: Any) -> dict[str, Any]:
    """The JSON object published for one change (history row joined with its alert, the
    columns of ``_CHANGE_COLUMNS``)."""
    # (unpacked by position: a row's attributes by name cost more than the rest of this)
    (
        history_id,
        event,
        change_severity,
        change_status,
        changed_at,
        alert_id,
        customer_id,
        store_id,
        product_id,
        alert_type,
        _,
        _,
        message,
        metadata,
        created_at,
        updated_at,
    ) = row
    return {
        "alert_id": alert_id,
        "history_id": history_id,
        "customer_id": customer_id,
        "store_id": store_id,
        "product_id": product_id,
        "alert_type": alert_type,
        "severity": change_severity,
        "status": change_status,
        "message": message,
        "metadata": metadata,
        "created_at": _iso(created_at),
        "updated_at": _iso(updated_at),
        "event": event,
        "changed_at": _iso(changed_at),
    }


def load_changes(
    session: Session, *, history_ids: Sequence[int], unpublished_only: bool = False
) -> list[dict[str, Any]]:
    """The messages for the given history rows (those not yet published, with
    ``unpublished_only``), in order, in one query."""
    if not history_ids:
        return []
    params = {"ids": array_literal(history_ids), "unpublished_only": unpublished_only}
    rows = session.execute(_READ_CHANGES, params).all()
    return [change_message(row) for row in rows]


def publish_changes(
    client: redis.Redis,
    messages: Sequence[dict[str, Any]],
    *,
    stream_maxlen: int = DEFAULT_STREAM_MAXLEN,
) -> int:
    """PUBLISH every message on its customer's channel and append it to the customer's
    stream (trimmed to about ``stream_maxlen`` entries), in order: one script call per
    customer (a batch's changes are one customer's)."""
    if not messages:
        return 0
    by_customer: dict[str, list[str]] = {}
    for message in messages:
        by_customer.setdefault(message["customer_id"], []).append(
            json.dumps(message, sort_keys=True)
        )
    publish_all = client.register_script(_PUBLISH_ALL)
    for customer_id, data in by_customer.items():
        # EVALSHA: one round trip (the script is loaded on the first NOSCRIPT answer).
        publish_all(
            keys=[stream_for(customer_id)], args=[channel_for(customer_id), stream_maxlen, *data]
        )
    return len(messages)


def mark_published(session: Session, *, history_ids: Sequence[int]) -> None:
    """Record that these changes went out (the outbox mark)."""
    if history_ids:
        session.execute(_MARK_PUBLISHED, {"ids": array_literal(history_ids)})


def claim_unpublished(session: Session, *, older_than_s: float, limit: int) -> list[int]:
    """History rows committed more than ``older_than_s`` ago and never published.

    Rows are locked (SKIP LOCKED) until the caller's transaction ends, so two relays never
    take the same rows.
    """
    rows = session.execute(_UNPUBLISHED, {"older_than": older_than_s, "limit": limit})
    return [int(i) for i in rows.scalars()]


def publish_committed(
    session: Session,
    client: redis.Redis,
    *,
    history_ids: Sequence[int],
    stream_maxlen: int = DEFAULT_STREAM_MAXLEN,
    ledger_id: int | None = None,
) -> int:
    """Announce committed changes: mark them published in ``session``'s transaction and
    load them (one statement), then PUBLISH each on its customer's channel and append it to
    the customer's stream (one pipeline); returns how many. ``ledger_id``: the batch's
    ledger row, marked done in the same transaction (in the same statement).

    Changes already marked published are left out, so a retried or redelivered publish
    sends only what did not go out. A crash after the PUBLISH and before the caller commits
    leaves them unpublished in the database: the relay publishes them again (at least once,
    never lost).
    """
    if not history_ids:
        if ledger_id is not None:
            mark_done(session, ledger_id=ledger_id)
        return 0
    # Prepared (planned once per connection), an event's changes and a sweep batch's alike.
    rows = execute_prepared(
        session,
        _MARK_AND_READ,
        {"ids": array_literal(history_ids), "ledger_id": ledger_id},
        prepare=runs_prepared(len(history_ids)),
    ).all()
    return publish_changes(
        client, [change_message(row) for row in rows], stream_maxlen=stream_maxlen
    )


def publish_unpublished(
    session: Session,
    client: redis.Redis,
    *,
    older_than_s: float,
    limit: int,
    stream_maxlen: int = DEFAULT_STREAM_MAXLEN,
) -> int:
    """The relay's catch-up: publish changes committed more than ``older_than_s`` ago and
    never published (at most ``limit``; rows locked so two relays never share them)."""
    history_ids = claim_unpublished(session, older_than_s=older_than_s, limit=limit)
    return publish_committed(session, client, history_ids=history_ids, stream_maxlen=stream_maxlen)
