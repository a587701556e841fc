"""The statements persist.py runs, one per step of a batch; each takes whole arrays.

Kept apart from the flow in persist.py so each reads on its own. Statuses, events and the
order of severities come from :mod:`shelfops_alerts.vocabulary` (``_RANK`` orders severities
inside SQL: low 1 < medium 2 < high 3 < critical 4).

Each is a :class:`~shelfops_alerts.db.PreparedStatement`: an event's small batch runs it
prepared (planned once per connection), a sweep's page as a plain statement (planned for
its values; see persist.py). Arrays arrive as one literal each
(``shelfops_alerts.db.array_literal``). Alerts are looked up by index, SKU by SKU, in
``LATERAL`` subqueries the planner cannot flatten: during the first sweep after an import
the alerts table has no statistics yet, and a flattened join could read all the customer's
alerts once per batch, or once per SKU.
"""

from __future__ import annotations

from sqlalchemy import text

from shelfops_alerts.db import prepared
from shelfops_alerts.vocabulary import (
    ACTIVE_STATUSES,
    CREATED,
    ESCALATED,
    OPEN,
    REOPENED,
    RESOLVED,
    SYSTEM_ACTOR,
    UPDATED,
    sql_list,
    sql_severity_rank,
    sql_word,
)

_RANK = sql_severity_rank
_ACTIVE = f"({sql_list(ACTIVE_STATUSES)})"
_OPEN, _RESOLVED = sql_word(OPEN), sql_word(RESOLVED)
_SAME = "(p.severity, p.message, p.metadata, p.silence_id IS NULL)"

UPSERT = prepared(
    "persist_upsert",
    text(
        f"""
    WITH input AS (
        SELECT * FROM unnest(
            CAST(:stores AS text[]), CAST(:products AS text[]), CAST(:types AS text[]),
            CAST(:severities AS text[]), CAST(:messages AS text[]), CAST(:metas AS jsonb[]),
            CAST(:silences AS bigint[])
        ) AS t(store_id, product_id, alert_type, severity, message, metadata, silence_id)
    ),
    -- Each finding looks up its alerts one index probe at a time (LATERAL ... LIMIT 1 is
    -- never flattened into a join): hashing all the customer's alerts per batch costs more.
    prev AS (
        SELECT a.id, a.store_id, a.product_id, a.alert_type, a.severity, a.message,
               a.metadata, a.silence_id
        FROM input i
        CROSS JOIN LATERAL (
            SELECT a.* FROM alerts a
            WHERE a.customer_id = :customer_id AND a.store_id = i.store_id
              AND a.product_id = i.product_id AND a.alert_type = i.alert_type
              AND a.status IN {_ACTIVE}
            LIMIT 1) a
    ),
    recent AS (
        SELECT a.id
        FROM input i
        CROSS JOIN LATERAL (
            SELECT a.id FROM alerts a
            WHERE a.customer_id = :customer_id AND a.store_id = i.store_id
              AND a.product_id = i.product_id AND a.alert_type = i.alert_type
              AND a.status = {_RESOLVED}
              AND a.resolved_at >= now() - make_interval(secs => :reopen_within)
            ORDER BY a.resolved_at DESC, a.id DESC
            LIMIT 1) a
        WHERE NOT EXISTS (
            SELECT 1 FROM prev p WHERE p.store_id = i.store_id
               AND p.product_id = i.product_id AND p.alert_type = i.alert_type)
    ),
    reopened AS (
        UPDATE alerts a
        SET status = {_OPEN}, severity = i.severity, message = i.message,
            metadata = i.metadata, silence_id = i.silence_id, clear_checks = 0,
            updated_at = now(), resolved_at = NULL, resolved_by = NULL,
            acknowledged_at = NULL, acknowledged_by = NULL,
            acknowledged_note = NULL, acknowledged_outcome = NULL
        FROM recent r, input i
        -- status is re-checked on the locked row: of two workers racing to re-open one
        -- alert, the second finds it open, skips it, and its insert meets the conflict.
        -- (The ids by primary key: on a young table the planner would rather scan.)
        WHERE a.id = ANY(ARRAY(SELECT id FROM recent))
          AND a.id = r.id AND a.status = {_RESOLVED}
          AND i.store_id = a.store_id AND i.product_id = a.product_id
          AND i.alert_type = a.alert_type
        RETURNING a.id, a.store_id, a.product_id, a.alert_type, a.severity, a.status,
                  a.silence_id
    ),
    up AS (
        INSERT INTO alerts AS a (customer_id, store_id, product_id, alert_type, severity,
                                 status, message, metadata, silence_id)
        SELECT :customer_id, i.store_id, i.product_id, i.alert_type, i.severity, {_OPEN},
               i.message, i.metadata, i.silence_id
        FROM input i
        WHERE NOT EXISTS (
            SELECT 1 FROM reopened r WHERE r.store_id = i.store_id
               AND r.product_id = i.product_id AND r.alert_type = i.alert_type)
        -- new keys are inserted (and wait on a racing insert of the same key) in key order
        ORDER BY i.store_id, i.product_id, i.alert_type
        ON CONFLICT (customer_id, store_id, product_id, alert_type)
            WHERE status IN {_ACTIVE}
        DO UPDATE SET
            severity = EXCLUDED.severity,
            message = EXCLUDED.message,
            metadata = EXCLUDED.metadata,
            silence_id = EXCLUDED.silence_id,
            -- a repeat finding restarts the hysteresis count
            clear_checks = 0,
            updated_at = CASE
                WHEN (a.severity, a.message, a.metadata, a.silence_id IS NULL) IS DISTINCT FROM
                     (EXCLUDED.severity, EXCLUDED.message, EXCLUDED.metadata,
                      EXCLUDED.silence_id IS NULL)
                THEN now() ELSE a.updated_at END,
            status = CASE WHEN {_RANK("EXCLUDED.severity")} > {_RANK("a.severity")}
                          THEN {_OPEN} ELSE a.status END
        WHERE (a.severity, a.message, a.metadata, a.silence_id)
              IS DISTINCT FROM (EXCLUDED.severity, EXCLUDED.message, EXCLUDED.metadata,
                                EXCLUDED.silence_id)
           OR a.clear_checks > 0
        RETURNING a.id, a.severity, a.message, a.metadata, a.status, a.silence_id,
                  (a.xmax = 0) AS inserted
    ),
    changes AS (
        SELECT up.id,
               CASE WHEN up.inserted THEN {sql_word(CREATED)}
                    WHEN p.id IS NOT NULL
                         AND {_RANK("up.severity")} > {_RANK("p.severity")}
                    THEN {sql_word(ESCALATED)}
                    ELSE {sql_word(UPDATED)} END AS event,
               up.severity, up.status, up.silence_id,
               CASE WHEN p.silence_id IS NOT NULL AND up.silence_id IS NULL
                    THEN :silence_ended END AS note
        FROM up LEFT JOIN prev p ON p.id = up.id
        -- a row touched only to restart its count is no change worth a history row
        WHERE up.inserted OR p.id IS NULL
           OR {_SAME} IS DISTINCT FROM
              (up.severity, up.message, up.metadata, up.silence_id IS NULL)
        UNION ALL
        SELECT id, {sql_word(REOPENED)}, severity, status, silence_id, NULL FROM reopened
    )
    INSERT INTO alert_history (alert_id, event, severity, status, note, silenced, published_at)
    SELECT id, event, severity, status, note, silence_id IS NOT NULL,
           CASE WHEN silence_id IS NOT NULL THEN now() END
    FROM changes
    RETURNING id, alert_id, event, silenced
    """
    ),
)

# Every alert row a batch may write, locked before any is written and in one order (the
# key, then the id), so two batches over the same SKUs queue behind each other instead of
# deadlocking (40P01): the active alerts of the types each SKU was evaluated or found for,
# and the recently resolved ones a finding may re-open (a comma-separated list of types per
# SKU each). The rows are found with index probes per SKU (LATERAL ... OFFSET 0 is never
# flattened into a join, which on a young table, as in the first sweep after an import,
# could read all the customer's alerts once per SKU), then locked by primary key: with
# ORDER BY, PostgreSQL locks the rows in that order. The rows come back with their status
# once locked, so the caller picks the active alerts to count a clean check on from them.
# A SKU ``k``'s recently resolved alerts of the types it found (``k.found``, comma-separated):
# one exact probe of the (customer, status, SKU, type) index.
_RECENTLY_RESOLVED_FOUND = f"""\
            SELECT a.id FROM alerts a
            WHERE a.customer_id = :customer_id AND a.store_id = k.store_id
              AND a.product_id = k.product_id
              AND a.alert_type = ANY(string_to_array(k.found, ','))
              AND a.status = {_RESOLVED}
              AND a.resolved_at >= now() - make_interval(secs => :reopen_within)"""

LOCK_ROWS = prepared(
    "persist_lock_rows",
    text(
        f"""
    WITH k AS (
        SELECT * FROM unnest(
            CAST(:stores AS text[]), CAST(:products AS text[]), CAST(:types AS text[]),
            CAST(:found AS text[])
        ) AS t(store_id, product_id, types, found)
    ),
    candidates AS MATERIALIZED (
        SELECT a.id FROM k
        CROSS JOIN LATERAL (
            SELECT a.id FROM alerts a
            WHERE a.customer_id = :customer_id AND a.store_id = k.store_id
              AND a.product_id = k.product_id
              AND a.alert_type = ANY(string_to_array(k.types, ','))
              AND a.status IN {_ACTIVE}
            OFFSET 0) a
        UNION ALL
        SELECT a.id FROM k
        CROSS JOIN LATERAL (
{_RECENTLY_RESOLVED_FOUND}
            OFFSET 0) a
        WHERE k.found <> ''
    )
    SELECT a.id, a.store_id, a.product_id, a.alert_type, a.status
    FROM alerts a
    WHERE a.id = ANY(ARRAY(SELECT id FROM candidates))
    ORDER BY a.store_id, a.product_id, a.alert_type, a.id
    FOR UPDATE OF a
    """
    ),
)

# The same for a batch that is a span of keys (a sweep's page): every active alert in the
# span, found by one index range scan instead of a probe per SKU (in a sweep most SKUs
# have none), and, per SKU with a finding, its active and recently resolved alerts of the
# types found. A superset of the rows the batch may write, locked in the same order.
LOCK_SPAN = text(
    f"""
    WITH candidates AS MATERIALIZED (
        SELECT a.id FROM alerts a
        WHERE a.customer_id = :customer_id AND a.status IN {_ACTIVE}
          AND (a.store_id, a.product_id) > (:after_store, :after_product)
          AND (a.store_id, a.product_id) <= (:last_store, :last_product)
        UNION ALL
        SELECT a.id
        FROM unnest(CAST(:stores AS text[]), CAST(:products AS text[]), CAST(:found AS text[]))
             AS k(store_id, product_id, found)
        CROSS JOIN LATERAL (
            -- Two exact probes (status is the index's second column): one with an OR of
            -- both statuses was planned as a scan of the customer's whole index per SKU,
            -- which grew with the alerts (at 1M SKUs most of a first sweep's database time).
            SELECT a.id FROM alerts a
            WHERE a.customer_id = :customer_id AND a.store_id = k.store_id
              AND a.product_id = k.product_id
              AND a.alert_type = ANY(string_to_array(k.found, ','))
              AND a.status IN {_ACTIVE}
            UNION ALL
{_RECENTLY_RESOLVED_FOUND}
            OFFSET 0) a
    )
    SELECT a.id, a.store_id, a.product_id, a.alert_type, a.status
    FROM alerts a
    WHERE a.id = ANY(ARRAY(SELECT id FROM candidates))
    ORDER BY a.store_id, a.product_id, a.alert_type, a.id
    FOR UPDATE OF a
    """
)

# Count a clean check on those alerts (given by id, so they are read by primary key), and
# resolve the ones clean on enough consecutive checks.
CLEAR = prepared(
    "persist_clear",
    text(
        f"""
    WITH cleared AS (
        UPDATE alerts a
        SET clear_checks = a.clear_checks + 1,
            last_clear_check = CAST(:check_id AS text),
            status = CASE WHEN a.clear_checks + 1 >= :resolve_after
                          THEN {_RESOLVED} ELSE a.status END,
            resolved_at = CASE WHEN a.clear_checks + 1 >= :resolve_after
                               THEN now() ELSE a.resolved_at END,
            resolved_by = CASE WHEN a.clear_checks + 1 >= :resolve_after
                               THEN {sql_word(SYSTEM_ACTOR)} ELSE a.resolved_by END,
            updated_at = CASE WHEN a.clear_checks + 1 >= :resolve_after
                              THEN now() ELSE a.updated_at END
        WHERE a.id = ANY(CAST(:ids AS bigint[]))
          AND a.status IN {_ACTIVE}
          -- the same check, redelivered, does not count twice
          AND (CAST(:check_id AS text) IS NULL
               OR a.last_clear_check IS DISTINCT FROM CAST(:check_id AS text))
        RETURNING a.id, a.severity, a.status
    )
    INSERT INTO alert_history (alert_id, event, severity, status, note)
    SELECT id, {_RESOLVED}, severity, {_RESOLVED}, :note FROM cleared
    WHERE status = {_RESOLVED}
    RETURNING id, alert_id, event, silenced
    """
    ),
)

# What mutes a batch's findings, in one read: the SKUs (of those given: the ones with a
# forecast-driven finding) whose forecast is doubted by an active accuracy alert
# (``inhibitor``), and the customer's silences in force now (``silence``: id and scope).
MUTERS = prepared(
    "persist_muters",
    text(
        f"""
    SELECT 'inhibitor' AS kind, k.store_id, k.product_id, NULL AS alert_type,
           CAST(NULL AS bigint) AS id
    FROM unnest(CAST(:stores AS text[]), CAST(:products AS text[])) AS k(store_id, product_id)
    CROSS JOIN LATERAL (
        SELECT 1 FROM alerts a
        WHERE a.customer_id = :customer_id AND a.store_id = k.store_id
          AND a.product_id = k.product_id AND a.alert_type = :inhibiting
          AND a.status IN {_ACTIVE}
        LIMIT 1) a
    UNION ALL
    SELECT 'silence', s.store_id, s.product_id, s.alert_type, s.id FROM alert_silences s
    WHERE s.customer_id = :customer_id AND s.expired_at IS NULL
      AND s.starts_at <= now() AND s.ends_at > now()
    """
    ),
)

DELIVERIES = prepared(
    "persist_deliveries",
    text(
        f"""
    INSERT INTO email_deliveries (alert_id, history_id, recipient)
    SELECT h.alert_id, h.id, r.email
    FROM alert_history h
    JOIN alerts a ON a.id = h.alert_id
    JOIN alert_recipients r
      ON r.customer_id = a.customer_id
     AND {_RANK("h.severity")} >= {_RANK("r.min_severity")}
    WHERE h.id = ANY(CAST(:history_ids AS bigint[]))
      AND NOT h.silenced
      AND (h.event = ANY(CAST(:events AS text[]))
           OR (h.note = :silence_ended AND h.status = {_OPEN}))
    ON CONFLICT ON CONSTRAINT uq_email_deliveries_change_recipient DO NOTHING
    RETURNING id
    """
    ),
)
