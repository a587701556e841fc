"""Pruning, table by table: old rows go; recent, active, pending and referred-to rows stay.

Rows are written straight into the database with the ages a long-running service would
have given them (``now() - interval``), then one prune run is made against the real schema.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import text

from shelfops_alerts.db import get_engine
from shelfops_alerts.retention.policy import Retention
from shelfops_alerts.retention.prune import prune
from tests.support.data import rows, today

POLICY = Retention(
    history_days=90,
    deliveries_days=30,
    forecast_days=60,
    sales_days=60,
    reopen_within_s=86400.0,
    visibility_timeout_s=3600.0,
)


def run(settings, retention: Retention = POLICY, **kwargs):
    return prune(get_engine(settings), retention, today=today(), **kwargs)


def execute(db, sql: str, **params) -> list:
    with db.begin() as session:
        result = session.execute(text(sql), params)
        return list(result.all()) if result.returns_rows else []


def alert(db, product: str, *, status: str = "open", resolved_days_ago: float | None = None):
    """An alert of customer c1, store S1; resolved that many days ago when given."""
    [(alert_id,)] = execute(
        db,
        "INSERT INTO alerts (customer_id, store_id, product_id, alert_type, severity, status,"
        " message, resolved_at) VALUES ('c1', 'S1', :p, 'stockout_predicted', 'high', :st, 'm',"
        " now() - CAST(:ago AS float) * interval '1 day') RETURNING id",
        p=product,
        st=status,
        ago=resolved_days_ago,
    )
    return alert_id


def change(db, alert_id: int, days_ago: float, *, published: bool = True) -> int:
    [(history_id,)] = execute(
        db,
        "INSERT INTO alert_history (alert_id, event, severity, status, changed_at, published_at)"
        " VALUES (:a, 'updated', 'high', 'open', now() - :ago * interval '1 day',"
        " CASE WHEN :pub THEN now() - :ago * interval '1 day' END) RETURNING id",
        a=alert_id,
        ago=days_ago,
        pub=published,
    )
    return history_id


def delivery(db, alert_id: int, history_id: int, status: str, days_ago: float, **extra) -> int:
    [(delivery_id,)] = execute(
        db,
        "INSERT INTO email_deliveries (alert_id, history_id, recipient, status, updated_at,"
        " digest_id) VALUES (:a, :h, :r, :s, now() - :ago * interval '1 day', :g) RETURNING id",
        a=alert_id,
        h=history_id,
        r=f"{status}-{days_ago}@c1.example",
        s=status,
        ago=days_ago,
        g=extra.get("digest_id"),
    )
    return delivery_id


def ids(db, table: str) -> set[int]:
    return {row[0] for row in rows(db, f"SELECT id FROM {table}")}


def test_sent_and_failed_deliveries_go_after_their_days_waiting_ones_never(db, settings):
    # Given deliveries of every status, some older than the 30 days kept
    a = alert(db, "P1")
    h = change(db, a, 100)
    old_sent, old_failed = (delivery(db, a, h, s, 40) for s in ("sent", "failed"))
    recent_sent = delivery(db, a, h, "sent", 10)
    waiting = {delivery(db, a, h, s, 40) for s in ("pending", "retrying", "sending")}
    # When a prune runs
    report = run(settings)
    # Then the old final ones are gone; recent and waiting ones (however old) stay
    assert ids(db, "email_deliveries") == {recent_sent, *waiting}
    assert report.deleted["email_deliveries"] == 2
    assert not {old_sent, old_failed} & ids(db, "email_deliveries")


def test_old_digests_go_once_their_deliveries_have_and_quiet_windows_with_them(db, settings):
    a = alert(db, "P1")
    h = change(db, a, 100)
    digest = {}
    for name, status, days in [
        ("old", "sent", 40),
        ("old_with_member", "sent", 40),
        ("recent", "sent", 5),
        ("old_retrying", "retrying", 40),
    ]:
        [(digest[name],)] = execute(
            db,
            "INSERT INTO email_digests (customer_id, recipient, status, due_at, updated_at)"
            " VALUES ('c1', :r, :s, now() - :d * interval '1 day', now() - :d * interval '1 day')"
            " RETURNING id",
            r=f"{name}@c1.example",
            s=status,
            d=days,
        )
    # a member delivery that is still kept (sent 10 days ago) holds its digest
    delivery(db, a, h, "sent", 10, digest_id=digest["old_with_member"])
    execute(
        db,
        "INSERT INTO email_windows (customer_id, recipient, open_until) VALUES"
        " ('c1', 'quiet@c1.example', now() - interval '40 days'),"
        " ('c1', 'old_retrying@c1.example', now() - interval '40 days'),"
        " ('c1', 'busy@c1.example', now() - interval '1 hour')",
    )
    run(settings)
    assert ids(db, "email_digests") == {
        digest["old_with_member"],
        digest["recent"],
        digest["old_retrying"],
    }
    # A window with a digest in flight is kept (it decides that the next mail is digested)
    assert {r[0] for r in rows(db, "SELECT recipient FROM email_windows")} == {
        "old_retrying@c1.example",
        "busy@c1.example",
    }


def test_old_history_goes_but_each_alerts_latest_unpublished_and_mailed_changes_stay(db, settings):
    a = alert(db, "P1")
    old = [change(db, a, days) for days in (200, 150, 120)]
    unpublished = change(db, a, 110, published=False)
    mailed = change(db, a, 100)
    delivery(db, a, mailed, "pending", 100)
    recent = change(db, a, 3)
    # an alert whose only change is old keeps it: it is its latest
    lone = alert(db, "P2")
    lone_change = change(db, lone, 300)

    report = run(settings)

    assert ids(db, "alert_history") == {unpublished, mailed, recent, lone_change}
    assert report.deleted["alert_history"] == len(old)


def test_resolved_alerts_go_after_their_days_active_and_recently_resolved_stay(db, settings):
    active_old = alert(db, "P1")
    change(db, active_old, 400)
    acknowledged = alert(db, "P2", status="acknowledged")
    gone = alert(db, "P3", status="resolved", resolved_days_ago=120)
    gone_changes = [change(db, gone, 130), change(db, gone, 120)]
    recent = alert(db, "P4", status="resolved", resolved_days_ago=20)
    # resolved long ago, but its last change was never published: the relay still owes it
    owed = alert(db, "P5", status="resolved", resolved_days_ago=120)
    change(db, owed, 120, published=False)
    # resolved long ago, with an e-mail still waiting
    mailing = alert(db, "P6", status="resolved", resolved_days_ago=120)
    delivery(db, mailing, change(db, mailing, 120), "retrying", 1)

    report = run(settings)

    assert ids(db, "alerts") == {active_old, acknowledged, recent, owed, mailing}
    assert report.deleted["alerts"] == 1
    assert not set(gone_changes) & ids(db, "alert_history")


def test_a_resolved_alert_is_kept_while_it_may_still_be_reopened(db, settings):
    # Given a re-open window (a week) longer than the history kept (one day)
    resolved = alert(db, "P1", status="resolved", resolved_days_ago=3)
    policy = dataclasses.replace(POLICY, history_days=1, reopen_within_s=7 * 86400)
    run(settings, policy)
    # Then the alert resolved three days ago is still there to be re-opened
    assert ids(db, "alerts") == {resolved}


def test_silences_that_ended_long_ago_go_unless_an_alert_names_them(db, settings):
    silence = {}
    for name, ends_days_ago in [("ended", 100), ("named", 100), ("in_force", -1), ("recent", 5)]:
        [(silence[name],)] = execute(
            db,
            "INSERT INTO alert_silences (customer_id, ends_at, created_by, reason, starts_at)"
            " VALUES ('c1', now() - :d * interval '1 day', 'op', 'r', now() - interval '1 year')"
            " RETURNING id",
            d=ends_days_ago,
        )
    # a silence in force, expired by hand long ago, ended then
    execute(
        db,
        "UPDATE alert_silences SET expired_at = now() - interval '100 days' WHERE id = :i",
        i=silence["in_force"],
    )
    named = alert(db, "P1")
    execute(db, "UPDATE alerts SET silence_id = :s WHERE id = :a", s=silence["named"], a=named)
    run(settings)
    assert ids(db, "alert_silences") == {silence["named"], silence["recent"]}


def sweeps(db, *specs: tuple[str, str, float]) -> dict[str, int]:
    """(name, status, days ago started) → id; each with three batch rows."""
    found = {}
    for name, status, days in specs:
        [(found[name],)] = execute(
            db,
            "INSERT INTO sweeps (task_id, status, started_at, finished_at, batch_size)"
            " VALUES (:t, :s, now() - :d * interval '1 day',"
            " CASE WHEN :s = 'finished' THEN now() - :d * interval '1 day' END, 10)"
            " RETURNING id",
            t=name,
            s=status,
            d=days,
        )
        execute(
            db,
            "INSERT INTO sweep_batches (sweep_id, batch_no) SELECT :i, g"
            " FROM generate_series(0, 2) g",
            i=found[name],
        )
    return found


def test_old_sweeps_go_running_ones_stay_and_batch_rows_go_a_day_after_the_sweep(db, settings):
    sweep = sweeps(
        db,
        ("old", "finished", 100),
        ("old_abandoned", "abandoned", 95),
        ("old_running", "running", 100),
        ("two_days", "finished", 2),
        ("running", "running", 0),
    )
    run(settings)
    assert ids(db, "sweeps") == {sweep["old_running"], sweep["two_days"], sweep["running"]}
    batches = {r[0] for r in rows(db, "SELECT DISTINCT sweep_id FROM sweep_batches")}
    assert batches == {sweep["old_running"], sweep["running"]}


def test_the_newest_sweep_and_the_newest_finished_one_stay_however_old(db, settings):
    sweep = sweeps(
        db,
        ("older", "finished", 300),
        ("last_finished", "finished", 200),
        ("newest", "abandoned", 100),
    )
    run(settings)
    assert ids(db, "sweeps") == {sweep["last_finished"], sweep["newest"]}


def dead_letter(db, task_id: str, status: str, days_ago: float) -> None:
    """A dead letter parked ``days_ago`` and, unless still parked, replayed or discarded then."""
    execute(
        db,
        "INSERT INTO dead_letters (task_name, task_id, args, kwargs, options, reason,"
        " deliveries, status, first_seen_at, replayed_at, discarded_at) VALUES"
        " ('shelfops.check_stockout_risk', :t, '[]', '{}', '{}', 'killed', 3, :s,"
        " now() - :ago * interval '1 day',"
        " CASE WHEN :s = 'replayed' THEN now() - :ago * interval '1 day' END,"
        " CASE WHEN :s = 'discarded' THEN now() - :ago * interval '1 day' END)",
        t=task_id,
        s=status,
        ago=days_ago,
    )


def test_dead_letters_replayed_or_discarded_long_ago_go_parked_ones_never(db, settings):
    # Given dead letters dealt with long ago and lately, and parked ones however old
    for status in ("replayed", "discarded", "parked"):
        dead_letter(db, f"{status}-old", status, 100)
        dead_letter(db, f"{status}-new", status, 10)
    # When a prune runs (history is kept 90 days)
    report = run(settings)
    # Then only the messages dealt with more than 90 days ago are gone
    assert report.deleted["dead_letters"] == 2
    left = {r[0] for r in rows(db, "SELECT task_id FROM dead_letters")}
    assert left == {"replayed-new", "discarded-new", "parked-old", "parked-new"}


def test_expired_sessions_and_login_links_go(db, settings):
    for table, column in (("web_sessions", "session_hash"), ("login_links", "code_hash")):
        execute(
            db,
            f"INSERT INTO {table} ({column}, customer_id, expires_at) VALUES"
            " ('expired', 'c1', now() - interval '1 second'),"
            " ('live', 'c1', now() + interval '1 hour')",
        )
    run(settings)
    for table, column in (("web_sessions", "session_hash"), ("login_links", "code_hash")):
        assert [r[0] for r in rows(db, f"SELECT {column} FROM {table}")] == ["live"]


def test_sales_and_arrivals_before_the_window_go(db, settings):
    execute(
        db,
        "INSERT INTO sales (customer_id, store_id, product_id, sale_date, units)"
        " SELECT 'c1', 'S1', 'P1', CAST(:today AS date) - g, 1 FROM generate_series(1, 100) g",
        today=today(),
    )
    execute(
        db,
        "INSERT INTO arrivals (customer_id, store_id, product_id, arrival_date, quantity)"
        " SELECT 'c1', 'S1', 'P1', CAST(:today AS date) + g, 1"
        " FROM generate_series(-100, 5) g",
        today=today(),
    )
    report = run(settings)
    cutoff = today() - dt.timedelta(days=60)
    assert report.sales_cutoff == cutoff
    [(first_sale, n_sales)] = rows(db, "SELECT min(sale_date), count(*) FROM sales")
    assert (first_sale, n_sales) == (cutoff, 60)
    [(first_arrival, future)] = rows(
        db,
        "SELECT min(arrival_date), count(*) FILTER (WHERE arrival_date >= :t) FROM arrivals",
        t=today(),
    )
    assert first_arrival == cutoff and future == 6


@pytest.mark.parametrize("batch", [1, 7])
def test_small_batches_take_everything_in_one_run(db, settings, batch):
    a = alert(db, "P1")
    h = change(db, a, 100)
    for n in range(20):
        delivery(db, a, h, "sent", 40 + n)
    report = run(settings, batch=batch)
    assert report.deleted["email_deliveries"] == 20 and not report.unfinished
    assert ids(db, "email_deliveries") == set()
