"""The statements a prune runs: one bounded DELETE per table, each finding its rows through
an index and deleting at most ``:batch`` of them.

Every DELETE takes its rows with ``FOR UPDATE SKIP LOCKED``: a row a worker holds right now
is left for the next run instead of waited for. Rows go children first (deliveries before
the history rows they belong to, history before alerts), and each statement keeps a row
that something still refers to, so no cascade ever removes more than the statement says.
Statuses come from :mod:`shelfops_alerts.vocabulary`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import TextClause, text

from shelfops_alerts.retention.policy import FORECAST_STEP_DAYS, SALES_STEP_DAYS
from shelfops_alerts.vocabulary import (
    DISCARDED,
    FINAL_STATUSES,
    FINISHED,
    REPLAYED,
    RESOLVED,
    RUNNING,
    sql_list,
    sql_word,
)

_FINAL = f"({sql_list(FINAL_STATUSES)})"
_AGE = "now() - make_interval(secs => :age_s)"


def _delete(table: str, condition: str, *, alias: str = "t") -> TextClause:
    """DELETE at most ``:batch`` rows of ``table`` matching ``condition`` (on ``alias``)."""
    return text(
        f"""
        DELETE FROM {table} WHERE ctid = ANY(ARRAY(
            SELECT {alias}.ctid FROM {table} {alias}
            WHERE {condition}
            LIMIT :batch FOR UPDATE OF {alias} SKIP LOCKED))
        """
    )


@dataclass(frozen=True)
class Step:
    """One table's prune: its statement and which age (a :class:`Retention` attribute, in
    seconds) it is given as ``:age_s``; None for rows that are simply expired."""

    table: str
    statement: TextClause
    age: str | None


#: In this order: what refers to a row goes before the row.
STEPS = (
    # Sent or failed e-mails (the index on status, updated_at finds them).
    Step(
        "email_deliveries",
        _delete("email_deliveries", f"t.status IN {_FINAL} AND t.updated_at < {_AGE}"),
        "deliveries_age_s",
    ),
    # Sent or failed digests none of whose deliveries is left.
    Step(
        "email_digests",
        _delete(
            "email_digests",
            f"""t.status IN {_FINAL} AND t.due_at < {_AGE} AND t.updated_at < {_AGE}
            AND NOT EXISTS (SELECT 1 FROM email_deliveries d WHERE d.digest_id = t.id)""",
        ),
        "deliveries_age_s",
    ),
    # A window closed long ago with no digest in flight means what no window means: quiet.
    Step(
        "email_windows",
        _delete(
            "email_windows",
            f"""t.open_until < {_AGE} AND NOT EXISTS (
                SELECT 1 FROM email_digests g WHERE g.customer_id = t.customer_id
                   AND g.recipient = t.recipient AND g.status NOT IN {_FINAL})""",
        ),
        "deliveries_age_s",
    ),
    # Old changes, except each alert's latest (what the API shows as its last event), one
    # not yet published (the relay still owes it), and one an e-mail row still refers to.
    Step(
        "alert_history",
        _delete(
            "alert_history",
            f"""t.changed_at < {_AGE} AND t.published_at IS NOT NULL
            AND EXISTS (SELECT 1 FROM alert_history n
                        WHERE n.alert_id = t.alert_id AND n.id > t.id)
            AND NOT EXISTS (SELECT 1 FROM email_deliveries d WHERE d.history_id = t.id)""",
        ),
        "history_age_s",
    ),
    # Alerts resolved long ago (never an active one), with nothing left to publish or mail.
    Step(
        "alerts",
        _delete(
            "alerts",
            f"""t.status = {sql_word(RESOLVED)} AND t.resolved_at < {_AGE}
            AND NOT EXISTS (SELECT 1 FROM email_deliveries d WHERE d.alert_id = t.id)
            AND NOT EXISTS (SELECT 1 FROM alert_history h
                            WHERE h.alert_id = t.id AND h.published_at IS NULL)""",
        ),
        "resolved_alert_age_s",
    ),
    # Silences that ended long ago and that no alert names any more.
    Step(
        "alert_silences",
        _delete(
            "alert_silences",
            f"""LEAST(t.ends_at, COALESCE(t.expired_at, t.ends_at)) < {_AGE}
            AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.silence_id = t.id)""",
        ),
        "history_age_s",
    ),
    # A finished sweep's batch rows (they only make a redelivered batch count once).
    Step(
        "sweep_batches",
        _delete(
            "sweep_batches",
            f"""EXISTS (SELECT 1 FROM sweeps s WHERE s.id = t.sweep_id
                        AND s.status <> {sql_word(RUNNING)}
                        AND COALESCE(s.finished_at, s.started_at) < {_AGE})""",
        ),
        "sweep_batches_age_s",
    ),
    # Batches whose chain finished (or was given up) a while ago: the ledger only watches
    # unfinished ones (the partial index on done_at finds these).
    Step(
        "batch_ledger",
        _delete("batch_ledger", f"t.done_at IS NOT NULL AND t.done_at < {_AGE}"),
        "batch_ledger_age_s",
    ),
    # Old sweeps, except the latest and the latest finished one (status and metrics).
    Step(
        "sweeps",
        _delete(
            "sweeps",
            f"""t.status <> {sql_word(RUNNING)} AND t.started_at < {_AGE}
            AND t.id <> (SELECT max(id) FROM sweeps)
            AND t.id <> COALESCE((SELECT max(id) FROM sweeps
                                  WHERE status = {sql_word(FINISHED)}), 0)
            AND NOT EXISTS (SELECT 1 FROM sweep_batches b WHERE b.sweep_id = t.id)""",
        ),
        "history_age_s",
    ),
    # Dead letters replayed or discarded long ago (a parked one waits for a person, however
    # old). The table stays small, so no index: a parked message is rare.
    Step(
        "dead_letters",
        _delete(
            "dead_letters",
            f"""t.status IN ({sql_list((REPLAYED, DISCARDED))})
            AND COALESCE(t.discarded_at, t.replayed_at) < {_AGE}""",
        ),
        "history_age_s",
    ),
    # Expired dashboard sessions and login links can never be used again.
    Step("web_sessions", _delete("web_sessions", "t.expires_at < now()"), None),
    Step("login_links", _delete("login_links", "t.expires_at < now()"), None),
)

#: The largest ``history_days`` any customer set (NULL when none did).
LONGEST_HISTORY = text("SELECT max(history_days) FROM customer_rule_settings")


def _old_skus(kept_by: str) -> TextClause:
    """SKUs whose first day (``start_date`` of their row in ``kept_by``) is ``:step`` days or
    more before the cutoff, in key order after the last one seen (see
    ``policy.FORECAST_STEP_DAYS``, ``policy.SALES_STEP_DAYS``)."""
    return text(
        f"""
        SELECT customer_id, store_id, product_id FROM {kept_by}
        WHERE start_date <= CAST(:cutoff AS date) - :step
          AND (customer_id, store_id, product_id) > (:customer_id, :store_id, :product_id)
        ORDER BY customer_id, store_id, product_id
        LIMIT :skus
        """
    )


def _delete_old(table: str, day: str) -> TextClause:
    """Those SKUs' rows of ``table`` before the cutoff."""
    return text(
        f"""
        DELETE FROM {table} t
        USING unnest(CAST(:customers AS text[]), CAST(:stores AS text[]),
                     CAST(:products AS text[])) AS k(customer_id, store_id, product_id)
        WHERE t.customer_id = k.customer_id AND t.store_id = k.store_id
          AND t.product_id = k.product_id AND t.{day} < :cutoff
        """
    )


@dataclass(frozen=True)
class ByDay:
    """A daily input pruned a SKU at a time: the SKUs due (:func:`_old_skus`, from the table
    that holds one row per SKU) and the delete of their old rows."""

    table: str
    old_skus: TextClause
    delete: TextClause
    #: Days of a SKU's rows removed at once once they are due (see ``BY_SKU``).
    step_days: int


#: Forecasts and sales go a SKU at a time, a step of days at once: the triggers on each
#: rewrite the SKU's row of ``forecast_horizons`` (rebuilt from all its forecasts) or
#: ``sales_windows`` (the deleted days cut out) once per statement, so a week of a SKU's
#: days in one delete costs one rewrite where a day at a time would cost seven.
BY_SKU = (
    ByDay(
        "forecasts",
        _old_skus("forecast_horizons"),
        _delete_old("forecasts", "forecast_date"),
        FORECAST_STEP_DAYS,
    ),
    ByDay("sales", _old_skus("sales_windows"), _delete_old("sales", "sale_date"), SALES_STEP_DAYS),
)

#: Other daily inputs before the cutoff date, found through their date indexes.
DAILY = {
    "arrivals": _delete("arrivals", "t.arrival_date < :cutoff"),
}
