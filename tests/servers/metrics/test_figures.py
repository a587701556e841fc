"""Database figures equal what the tables hold, however the rows got there, while the scrape
reads only the small count tables and partial indexes."""

from __future__ import annotations

import threading

from sqlalchemy import text

from shelfops_alerts.config import Settings
from shelfops_alerts.metrics import collect_figures
from shelfops_alerts.vocabulary import ALERT_TYPES, DELIVERY_STATUSES, SEVERITIES
from tests.support.data import rows

ALERT = (
    "INSERT INTO alerts (customer_id, store_id, product_id, alert_type, severity, status,"
    " message) VALUES (:c, :s, :p, :t, :v, :st, 'm') RETURNING id"
)


def put_alert(session, product, alert_type="stockout_predicted", severity="high", status="open"):
    return session.execute(
        text(ALERT),
        {"c": "acme", "s": "S1", "p": product, "t": alert_type, "v": severity, "st": status},
    ).scalar_one()


def active_truth(db) -> dict[tuple[str, str], int]:
    found = rows(
        db,
        "SELECT alert_type, severity, count(*) FROM alerts"
        " WHERE status IN ('open', 'acknowledged') GROUP BY 1, 2",
    )
    return {(t, v): n for t, v, n in found}


def active_figures(settings: Settings) -> dict[tuple[str, str], int]:
    figures = collect_figures(settings)
    return {
        (t, v): int(figures.value("shelfops_alerts_active", t, v))
        for t in ALERT_TYPES
        for v in SEVERITIES
        if figures.value("shelfops_alerts_active", t, v)
    }


def test_active_alerts_follow_inserts_updates_and_deletes(db, settings):
    # Given alerts of several types, severities and statuses
    with db.begin() as session:
        for n in range(5):
            put_alert(session, f"P{n}")
        put_alert(session, "Q1", "anomaly_detected", "medium", "acknowledged")
        put_alert(session, "Q2", "reorder_recommended", "critical", "resolved")
    assert (
        active_figures(settings)
        == active_truth(db)
        == {
            ("stockout_predicted", "high"): 5,
            ("anomaly_detected", "medium"): 1,
        }
    )
    # When some escalate, one resolves, one is deleted, and others change nothing countable
    with db.begin() as session:
        session.execute(
            text("UPDATE alerts SET severity = 'critical' WHERE product_id IN ('P0', 'P1')")
        )
        session.execute(text("UPDATE alerts SET status = 'resolved' WHERE product_id = 'P2'"))
        session.execute(text("DELETE FROM alerts WHERE product_id = 'Q1'"))
        session.execute(text("UPDATE alerts SET updated_at = now(), message = 'again'"))
    # Then the figures still equal the table
    assert (
        active_figures(settings)
        == active_truth(db)
        == {
            ("stockout_predicted", "critical"): 2,
            ("stockout_predicted", "high"): 2,
        }
    )
    # And every bounded series is served, zero or not (16 = 4 types x 4 severities)
    assert len(collect_figures(settings).samples["shelfops_alerts_active"]) == 16


def test_each_scrape_folds_the_count_changes_into_one_row_per_group(db, settings):
    with db.begin() as session:
        ids = [put_alert(session, f"P{n}") for n in range(20)]
    # Given many statements, each appending its change to the counts
    for alert_id in ids:
        with db.begin() as session:
            session.execute(
                text("UPDATE alerts SET severity = 'low' WHERE id = :i"), {"i": alert_id}
            )
    assert rows(db, "SELECT count(*) FROM alert_counts")[0][0] > 20
    # When one scrape runs
    collect_figures(settings)
    # Then one row per group is left, and the counts are unchanged
    assert rows(db, "SELECT count(*) FROM alert_counts")[0][0] == 1
    assert active_figures(settings) == {("stockout_predicted", "low"): 20}


def test_concurrent_writers_never_wait_on_the_counts_and_nothing_is_lost(db, settings):
    # Given a transaction that created alerts and has not committed yet
    slow = db()
    slow.begin()
    put_alert(slow, "SLOW1")
    put_alert(slow, "SLOW2")
    # When another writer creates one, under a 1 s lock timeout (it would fail if it waited)
    with db.begin() as session:
        session.execute(text("SET LOCAL lock_timeout = '1s'"))
        put_alert(session, "FAST")
    # And a scrape folds the counts meanwhile (in another thread, as the exporter would)
    seen: list[dict] = []
    scrape = threading.Thread(target=lambda: seen.append(active_figures(settings)))
    scrape.start()
    scrape.join(10)
    # Then it counts what is committed; once the first commits, that is counted too
    assert seen == [{("stockout_predicted", "high"): 1}]
    slow.commit()
    slow.close()
    assert active_figures(settings) == active_truth(db) == {("stockout_predicted", "high"): 3}


def test_truncating_the_tables_empties_the_counts(db, settings):
    with db.begin() as session:
        put_alert(session, "P1")
        session.execute(text("TRUNCATE alerts CASCADE"))
    assert active_figures(settings) == {}


def test_deliveries_by_status_and_the_oldest_waiting(db, settings):
    with db.begin() as session:
        alert_id = put_alert(session, "P1")
        history_id = session.execute(
            text(
                "INSERT INTO alert_history (alert_id, event, severity, status, published_at)"
                " VALUES (:a, 'created', 'high', 'open', now()) RETURNING id"
            ),
            {"a": alert_id},
        ).scalar_one()
        for n, (status, age_s) in enumerate(
            [
                ("sent", 900),
                ("sent", 800),
                ("failed", 700),
                ("pending", 120),
                ("sending", 30),
                ("retrying", 5000),
                ("digest_pending", 4000),
            ]
        ):
            session.execute(
                text(
                    "INSERT INTO email_deliveries (alert_id, history_id, recipient, status,"
                    " queued_at) VALUES (:a, :h, :r, :s, now() - make_interval(secs => :age))"
                ),
                {"a": alert_id, "h": history_id, "r": f"r{n}@x.example", "s": status, "age": age_s},
            )
    with db.begin() as session:
        session.execute(
            text("UPDATE email_deliveries SET status = 'sent' WHERE status = 'sending'")
        )
    figures = collect_figures(settings)
    by_status = {s: figures.value("shelfops_deliveries", s) for s in DELIVERY_STATUSES}
    assert by_status == {
        "pending": 1,
        "digest_pending": 1,
        "sending": 0,
        "retrying": 1,
        "sent": 3,
        "failed": 1,
    }
    # Waiting for an attempt means pending or sending: retrying and digests wait on purpose
    assert 119 <= figures.value("shelfops_delivery_oldest_pending_seconds") < 130


def test_the_outbox_counts_unpublished_changes_and_their_age(db, settings):
    with db.begin() as session:
        alert_id = put_alert(session, "P1")
        for age_s, published in ((300, True), (90, False), (10, False)):
            session.execute(
                text(
                    "INSERT INTO alert_history (alert_id, event, severity, status, changed_at,"
                    " published_at) VALUES (:a, 'updated', 'high', 'open',"
                    " now() - make_interval(secs => :age), CASE WHEN :p THEN now() END)"
                ),
                {"a": alert_id, "age": age_s, "p": published},
            )
    figures = collect_figures(settings)
    assert figures.value("shelfops_outbox_unpublished_changes") == 2
    assert 89 <= figures.value("shelfops_outbox_oldest_unpublished_seconds") < 100


def test_sweep_figures_come_from_the_latest_finished_sweep(db, settings):
    # Given no sweep yet: those figures are left out, not zero
    empty = collect_figures(settings)
    assert empty.value("shelfops_sweep_last_finished_timestamp_seconds") is None
    assert empty.value("shelfops_sweep_interval_seconds") == settings.sweep_interval_s
    # And then a finished sweep followed by one still running
    with db.begin() as session:
        session.execute(
            text(
                "INSERT INTO sweeps (task_id, status, started_at, finished_at, batch_size,"
                " skus_total, skus_checked, batches_failed) VALUES"
                " ('a', 'finished', to_timestamp(1000), to_timestamp(1042.5), 10, 500, 480, 2),"
                " ('b', 'running', to_timestamp(2000), NULL, 10, 500, 0, 0)"
            )
        )
    figures = collect_figures(settings)
    assert figures.value("shelfops_sweep_last_started_timestamp_seconds") == 2000
    assert figures.value("shelfops_sweep_last_finished_timestamp_seconds") == 1042.5
    assert figures.value("shelfops_sweep_last_duration_seconds") == 42.5
    assert figures.value("shelfops_sweep_last_skus_checked") == 480
    assert figures.value("shelfops_sweep_last_batches_failed") == 2


def test_a_source_that_is_down_hides_only_its_own_figures(db, settings):
    from dataclasses import replace

    from shelfops_alerts.stack.embedded import free_port

    # Given Redis cannot be reached (nothing listens on that port)
    cut_off = replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    figures = collect_figures(cut_off)
    # Then Redis is reported down and its figures left out; the database's are served
    assert figures.value("shelfops_scrape_source_up", "redis") == 0
    assert figures.value("shelfops_scrape_source_up", "database") == 1
    assert figures.value("shelfops_queue_depth", "alerts") is None
    assert figures.value("shelfops_outbox_unpublished_changes") == 0
    assert figures.value("shelfops_scrape_duration_seconds") > 0


def test_a_backlog_of_count_changes_is_folded_chunk_by_chunk(db, settings):
    from shelfops_alerts.metrics.database import fold_counts

    # Given 30 alerts, each escalated on its own (60 + 30 count-change rows)
    with db.begin() as session:
        ids = [put_alert(session, f"P{n}") for n in range(30)]
    for alert_id in ids:
        with db.begin() as session:
            session.execute(
                text("UPDATE alerts SET severity = 'critical' WHERE id = :i"), {"i": alert_id}
            )
    before = rows(db, "SELECT count(*) FROM alert_counts")[0][0]
    # When they are folded seven rows per statement
    with db.begin() as session:
        assert fold_counts(session, chunk=7)
    # Then one row per group is left and the count is unchanged
    assert before > 30
    assert rows(db, "SELECT alert_type, severity, status, n FROM alert_counts") == [
        ("stockout_predicted", "critical", "open", 30)
    ]
