"""An event's persist runs its statements prepared and planned once per connection; a
sweep's page (a span of keys) runs them as plain statements, planned for its values."""

from __future__ import annotations

from sqlalchemy import text

from shelfops_alerts import db as database
from shelfops_alerts.alerts.lifecycle import LifecyclePolicy
from shelfops_alerts.alerts.persist import persist_batch
from shelfops_alerts.config import Settings
from shelfops_alerts.detect.checks import BatchResult
from shelfops_alerts.detect.rules import Finding
from shelfops_alerts.skus import Sku, SkuSpan

STOCKOUT = "stockout_predicted"
_PLANS = text(
    "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements"
    " WHERE name LIKE 'persist%' ORDER BY name"
)


def _event(n: int, span: SkuSpan | None = None) -> BatchResult:
    severity = "critical" if n % 2 else "high"
    found = Finding("S1", "P1", STOCKOUT, severity, f"runs out ({n})", {"n": n})
    return BatchResult(
        customer_id="acme",
        evaluated=[(Sku("S1", "P1"), STOCKOUT)],
        findings=[found],
        span=span,
    )


def test_an_events_statements_are_planned_once_per_connection(db, settings: Settings) -> None:
    # Given a fresh worker's connection (its sessions as the persist task opens them)
    database.dispose_engines()
    factory = database.session_factory(settings, worker=True)
    # When eight one-SKU events are persisted on it, each one change
    for n in range(8):
        with factory.begin() as session:
            result = persist_batch(session, batch=_event(n), policy=LifecyclePolicy())
            assert result.history_ids
    with factory() as session:
        plans = {row.name: (row.generic_plans, row.custom_plans) for row in session.execute(_PLANS)}
    # Then each statement an event runs was prepared and never planned for its values
    assert set(plans) >= {"persist_lock_rows", "persist_muters", "persist_upsert"}
    assert all(custom == 0 and generic >= 1 for generic, custom in plans.values()), plans
    assert plans["persist_upsert"][0] == 8


def test_a_sweeps_page_runs_its_statements_unprepared(db, settings: Settings) -> None:
    # Given a fresh worker connection
    database.dispose_engines()
    factory = database.session_factory(settings, worker=True)
    # When a sweep's page (a span of keys) with a finding is persisted
    with factory.begin() as session:
        span = SkuSpan(None, Sku("S9", "P9"))
        assert persist_batch(session, batch=_event(1, span=span)).history_ids
        # Then none of persist's statements was prepared on its connection
        assert session.execute(_PLANS).all() == []
