"""The alert lifecycle in persist_batch, on a real PostgreSQL, one batch at a time.

Batches are written by hand (no workers), so each test says exactly which findings and
which evaluated (SKU, type) pairs a check produced, as the check task would.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import event, text

from shelfops_alerts.alerts.actions import acknowledge
from shelfops_alerts.alerts.lifecycle import LifecyclePolicy
from shelfops_alerts.alerts.persist import persist_batch
from shelfops_alerts.alerts.silences import add_silence, expire_silence
from shelfops_alerts.detect.checks import BatchResult
from shelfops_alerts.detect.rules import Finding
from shelfops_alerts.skus import Sku
from tests.support.data import put_recipients, rows
from tests.support.lifecycle_data import clear_silences

C = "acme"
STOCKOUT = "stockout_predicted"
POLICY = LifecyclePolicy(resolve_after_checks=2, reopen_within_s=3600)


def finding(store="S1", product="P1", severity="critical", kind=STOCKOUT, message="runs out"):
    return Finding(store, product, kind, severity, message, {"days_until_stockout": 0.5})


def check(db, findings=(), clean=(), check_id=None, policy=POLICY):
    """Persist one check: ``findings`` fired, ``clean`` (store, product, type) did not."""
    evaluated = [(Sku(f.store_id, f.product_id), f.alert_type) for f in findings]
    evaluated += [(Sku(s, p), t) for s, p, t in clean]
    batch = BatchResult(customer_id=C, evaluated=evaluated, findings=list(findings))
    with db.begin() as session:
        return persist_batch(session, batch=batch, policy=policy, check_id=check_id)


def alerts(db):
    return rows(
        db,
        "SELECT id, store_id, product_id, alert_type, severity, status, clear_checks,"
        " silence_id, metadata, acknowledged_outcome FROM alerts ORDER BY id",
    )


def history(db, alert_id):
    return [
        (r.event, r.silenced)
        for r in rows(
            db,
            "SELECT event, silenced FROM alert_history WHERE alert_id = :a ORDER BY id",
            a=alert_id,
        )
    ]


def deliveries(db):
    return rows(
        db,
        "SELECT d.alert_id, h.event FROM email_deliveries d"
        " JOIN alert_history h ON h.id = d.history_id ORDER BY d.id",
    )


CLEAN = ("S1", "P1", STOCKOUT)


@pytest.fixture(autouse=True)
def _no_silences(db):
    """Silences live outside the tables the shared ``db`` fixture empties: clear them
    before and after, so no other test's alerts are muted by one of ours."""
    clear_silences(db)
    yield
    clear_silences(db)


def test_an_alert_resolves_only_after_two_consecutive_clean_checks(db):
    # Given an open critical alert
    check(db, [finding()])
    (alert,) = alerts(db)

    # When one check finds the condition gone
    first = check(db, clean=[CLEAN])

    # Then it is still open, one clean check counted, and nothing was written or published
    (after_one,) = alerts(db)
    assert (after_one.status, after_one.clear_checks) == ("open", 1)
    assert first.history_ids == [] and first.events == {}

    # When a second consecutive check finds it gone too
    second = check(db, clean=[CLEAN])

    # Then it is resolved by the system, in its history, and published
    (after_two,) = alerts(db)
    assert after_two.status == "resolved"
    assert history(db, alert.id) == [("created", False), ("resolved", False)]
    assert second.events == {"resolved": 1} and len(second.history_ids) == 1


def test_a_repeat_finding_between_clean_checks_restarts_the_count(db):
    # Given an alert that was clean once, then fired again (same finding: no change)
    check(db, [finding()])
    check(db, clean=[CLEAN])
    repeat = check(db, [finding()])
    assert repeat.history_ids == []
    assert alerts(db)[0].clear_checks == 0

    # When one more clean check comes
    check(db, clean=[CLEAN])

    # Then it is not resolved yet: the count started over
    (alert,) = alerts(db)
    assert (alert.status, alert.clear_checks) == ("open", 1)


def test_a_redelivered_clean_check_counts_once(db):
    # Given an open alert
    check(db, [finding()])

    # When the same clean check (same check id) is delivered twice
    check(db, clean=[CLEAN], check_id="task-1")
    check(db, clean=[CLEAN], check_id="task-1")

    # Then it counted once and the alert stays open; the next check resolves it
    assert (alerts(db)[0].status, alerts(db)[0].clear_checks) == ("open", 1)
    check(db, clean=[CLEAN], check_id="task-2")
    assert alerts(db)[0].status == "resolved"


def test_one_clean_check_resolves_when_configured_so(db):
    # Given resolve-after-checks set to 1 and an open alert
    once = LifecyclePolicy(resolve_after_checks=1, reopen_within_s=3600)
    check(db, [finding()], policy=once)

    # When one clean check comes, Then it is resolved
    check(db, clean=[CLEAN], policy=once)
    assert alerts(db)[0].status == "resolved"


def test_a_resolved_alert_firing_again_within_the_quiet_period_is_reopened_and_mailed(db):
    # Given a high-or-worse recipient and an alert acknowledged, then resolved a moment ago
    put_recipients(db, C, {"buyer@acme.example": "high"})
    check(db, [finding()])
    (alert,) = alerts(db)
    with db.begin() as session:
        acknowledge(session, alert_id=alert.id, actor="kim", outcome="ordered")
    check(db, clean=[CLEAN])
    check(db, clean=[CLEAN])
    assert alerts(db)[0].status == "resolved"

    # When the condition fires again, at high
    result = check(db, [finding(severity="high")])

    # Then the same alert is open again with its new severity, its acknowledgement cleared,
    # reopened in its history, published, and mailed like a creation
    (again,) = alerts(db)
    assert (again.id, again.status, again.severity) == (alert.id, "open", "high")
    assert (again.clear_checks, again.acknowledged_outcome) == (0, None)
    assert [e for e, _ in history(db, alert.id)] == [
        "created",
        "acknowledged",
        "resolved",
        "reopened",
    ]
    assert result.events == {"reopened": 1} and len(result.history_ids) == 1
    assert [d.event for d in deliveries(db)] == ["created", "reopened"]
    assert len(result.delivery_ids) == 1


def test_a_resolved_alert_firing_after_the_quiet_period_is_a_new_alert(db):
    # Given an alert resolved two hours ago (the quiet period is one hour)
    check(db, [finding()])
    check(db, clean=[CLEAN])
    check(db, clean=[CLEAN])
    with db.begin() as session:
        session.execute(text("UPDATE alerts SET resolved_at = now() - interval '2 hours'"))

    # When it fires again
    result = check(db, [finding()])

    # Then a new alert is created and the old one stays resolved
    assert [(a.status) for a in alerts(db)] == ["resolved", "open"]
    assert result.events == {"created": 1}


def test_an_acknowledged_alert_is_not_mailed_again_unless_it_escalates(db):
    # Given a medium-or-worse recipient and an acknowledged medium alert
    put_recipients(db, C, {"ops@acme.example": "medium"})
    check(db, [finding(severity="medium")])
    (alert,) = alerts(db)
    with db.begin() as session:
        acknowledge(session, alert_id=alert.id, actor="kim", note="PO sent", outcome="ordered")

    # When the finding changes at the same severity
    changed = check(db, [finding(severity="medium", message="runs out soon")])

    # Then it is updated, still acknowledged, and not mailed
    assert changed.events == {"updated": 1} and changed.delivery_ids == []
    assert (alerts(db)[0].status, alerts(db)[0].acknowledged_outcome) == ("acknowledged", "ordered")

    # When it escalates to high
    escalated = check(db, [finding(severity="high")])

    # Then it is open again and mailed
    assert escalated.events == {"escalated": 1} and len(escalated.delivery_ids) == 1
    assert alerts(db)[0].status == "open"
    assert [d.event for d in deliveries(db)] == ["created", "escalated"]


def _silence(db, **scope):
    with db.begin() as session:
        return add_silence(
            session,
            customer_id=C,
            until=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
            created_by="kim",
            reason="stocktake",
            **scope,
        ).id


def test_a_silenced_finding_is_stored_but_neither_published_nor_mailed(db):
    # Given a critical recipient and a silence on store S1
    put_recipients(db, C, {"ops@acme.example": "critical"})
    silence_id = _silence(db, store_id="S1")

    # When a batch finds S1/P1 and S2/P1 critical
    result = check(db, [finding("S1"), finding("S2")])

    # Then both alerts exist, S1's marked silenced by that silence
    by_store = {a.store_id: a for a in alerts(db)}
    assert by_store["S1"].silence_id == silence_id and by_store["S2"].silence_id is None
    assert history(db, by_store["S1"].id) == [("created", True)]
    # And only S2's creation is to be published and mailed; S1's is marked done already
    assert result.events == {"created": 2, "silenced": 1}
    (published,) = result.history_ids
    assert rows(db, "SELECT alert_id FROM alert_history WHERE id = :h", h=published)[0][0] == (
        by_store["S2"].id
    )
    assert rows(db, "SELECT count(*) FROM alert_history WHERE published_at IS NULL")[0][0] == 1
    assert [d.alert_id for d in deliveries(db)] == [by_store["S2"].id]


def test_when_a_silence_ends_the_still_firing_alert_is_announced(db):
    # Given a silenced critical alert
    put_recipients(db, C, {"ops@acme.example": "critical"})
    silence_id = _silence(db, alert_type=STOCKOUT)
    check(db, [finding()])
    (alert,) = alerts(db)

    # When the silence is expired and the same finding comes again
    with db.begin() as session:
        expire_silence(session, silence_id=silence_id, actor="kim")
    result = check(db, [finding()])

    # Then the alert is no longer silenced, the change is published and mailed
    assert alerts(db)[0].silence_id is None
    assert history(db, alert.id) == [("created", True), ("updated", False)]
    assert len(result.history_ids) == 1 and len(result.delivery_ids) == 1


def _accuracy_alert(db, store="S1", product="P1"):
    with db.begin() as session:
        session.execute(
            text(
                "INSERT INTO alerts (customer_id, store_id, product_id, alert_type, severity,"
                " message) VALUES (:c, :s, :p, 'forecast_accuracy_low', 'medium', 'WAPE 0.7')"
            ),
            {"c": C, "s": store, "p": product},
        )


def test_low_forecast_accuracy_lowers_forecast_driven_alerts_one_step(db):
    # Given forecast_accuracy_low active for S1/P1 only
    _accuracy_alert(db)

    # When critical stockout and reorder findings and an anomaly come for S1/P1, and a
    # critical stockout for S2/P1
    check(
        db,
        [
            finding(),
            finding(kind="reorder_recommended", severity="low"),
            finding(kind="anomaly_detected", severity="high"),
            finding("S2"),
        ],
    )

    # Then S1/P1's forecast-driven alerts are one step lower and say why; the others not
    got = {(a.store_id, a.alert_type): a for a in alerts(db)}
    stockout = got[("S1", STOCKOUT)]
    assert stockout.severity == "high"
    assert stockout.metadata["severity_before_inhibition"] == "critical"
    assert stockout.metadata["inhibited_by"] == "forecast_accuracy_low"
    assert got[("S1", "reorder_recommended")].severity == "low"
    assert got[("S1", "anomaly_detected")].severity == "high"
    assert got[("S2", STOCKOUT)].severity == "critical"
    assert "inhibited_by" not in got[("S2", STOCKOUT)].metadata


def test_an_accuracy_finding_in_the_same_batch_inhibits_too(db):
    # When one batch finds low accuracy and a critical stockout for the same SKU
    check(db, [finding(kind="forecast_accuracy_low", severity="medium"), finding()])

    # Then the stockout alert is stored as high
    got = {a.alert_type: a.severity for a in alerts(db)}
    assert got == {"forecast_accuracy_low": "medium", STOCKOUT: "high"}


def test_a_batch_costs_the_same_number_of_statements_whatever_its_size(db):
    _accuracy_alert(db)
    _silence(db, store_id="S0")

    def statements(n: int, run: str) -> int:
        found = [finding(f"S{i % 3}", f"{run}{i}") for i in range(n)]
        clean = [(f"S{i % 3}", f"{run}c{i}", STOCKOUT) for i in range(n)]
        count = 0

        def counter(*_args):
            nonlocal count
            count += 1

        engine = db.kw["bind"]
        event.listen(engine, "before_cursor_execute", counter)
        try:
            check(db, found, clean=clean)
        finally:
            event.remove(engine, "before_cursor_execute", counter)
        return count

    # Given batches of 3 and of 300 SKUs, When each is persisted, Then the counts are equal
    small, large = statements(3, "a"), statements(300, "b")
    assert small == large
    assert len(alerts(db)) > 300


def test_two_workers_reopening_one_alert_leave_one_active_alert(db):
    # Given a resolved alert
    check(db, [finding()])
    check(db, clean=[CLEAN])
    check(db, clean=[CLEAN])
    batch = BatchResult(
        customer_id=C, evaluated=[(Sku("S1", "P1"), STOCKOUT)], findings=[finding()]
    )

    # When one worker re-opens it and, before it commits, a second persists the same finding
    first = db()
    first.begin()
    persist_batch(first, batch=batch, policy=POLICY)
    second_done = threading.Event()
    outcome = {}

    def second() -> None:
        with db.begin() as session:
            outcome["result"] = persist_batch(session, batch=batch, policy=POLICY)
        second_done.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not second_done.wait(1.0)  # it waits on the first worker's row lock
    first.commit()
    first.close()
    thread.join(30)

    # Then there is one active alert (the re-opened one) and one reopening in its history
    assert [a.status for a in alerts(db)] == ["open"]
    assert [e for e, _ in history(db, alerts(db)[0].id)].count("reopened") == 1
    assert outcome["result"].events == {}


def test_a_reopen_that_meets_a_racing_insert_retries_and_updates_the_inserted_alert(db):
    # Given a resolved alert, and another worker that has inserted a fresh active alert of
    # the same key but not yet committed it (its snapshot predates the resolution)
    check(db, [finding()])
    check(db, clean=[CLEAN])
    check(db, clean=[CLEAN])
    (resolved,) = alerts(db)
    other = db()
    other.begin()
    other.execute(
        text(
            "INSERT INTO alerts (customer_id, store_id, product_id, alert_type, severity,"
            " status, message, metadata) VALUES (:c, 'S1', 'P1', :t, 'medium', 'open',"
            " 'from the other worker', '{}')"
        ),
        {"c": C, "t": STOCKOUT},
    )
    outcome: dict[str, object] = {}

    def reopen() -> None:
        try:
            outcome["result"] = check(db, [finding(severity="critical")])
        except Exception as exc:  # (reported to the test below)
            outcome["error"] = exc

    # When this worker re-opens the resolved alert (its re-open waits on the other's
    # uncommitted entry in the one-active index) and the other commits meanwhile
    thread = threading.Thread(target=reopen)
    thread.start()
    thread.join(1.0)
    assert thread.is_alive()  # it waits on the other worker's insert
    other.commit()
    other.close()
    thread.join(30)

    # Then the upsert was retried after the unique violation and updated the inserted
    # alert: one active alert (the other's, now critical), the resolved one left resolved
    assert "error" not in outcome and "result" in outcome
    states = {a.id: (a.status, a.severity) for a in alerts(db)}
    assert states.pop(resolved.id) == ("resolved", "critical")
    assert list(states.values()) == [("open", "critical")]
