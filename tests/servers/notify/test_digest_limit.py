"""A digest never grows beyond SHELFOPS_DIGEST_MAX_CHANGES: when full, the next change opens
another (on the real PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text

from shelfops_alerts.notify import outbox
from shelfops_alerts.notify.digests import load_digest, route_delivery

WINDOW_S = 60.0


def pending_deliveries(db, count: int) -> list[int]:
    """``count`` pending deliveries of as many alert changes, all to one recipient of C1."""
    with db.begin() as session:
        ids = session.execute(
            text(
                """
                WITH a AS (
                    INSERT INTO alerts (customer_id, store_id, product_id, alert_type,
                                        severity, message)
                    SELECT 'C1', 'S1', 'P' || g, 'stockout_predicted', 'critical', 'm'
                    FROM generate_series(1, :count) g RETURNING id
                ),
                h AS (
                    INSERT INTO alert_history (alert_id, event, severity, status)
                    SELECT id, 'created', 'critical', 'open' FROM a RETURNING id, alert_id
                )
                INSERT INTO email_deliveries (alert_id, history_id, recipient)
                SELECT alert_id, id, 'ops@c1.example' FROM h ORDER BY id RETURNING id
                """
            ),
            {"count": count},
        ).scalars()
        return sorted(int(i) for i in ids)


def route(db, delivery_id: int, max_changes: int):
    with db.begin() as session:
        return route_delivery(
            session, delivery_id=delivery_id, window_s=WINDOW_S, max_changes=max_changes
        )


def test_a_full_digest_makes_the_next_change_open_another(db):
    # Given eight changes for one recipient within one window, and digests of at most three
    first, *rest = pending_deliveries(db, 8)
    assert route(db, first, 3).route == "single"

    # When the other seven are routed
    routes = [route(db, d, 3) for d in rest]

    # Then they fill digests of three, three and one, each opened by its first change
    assert {r.route for r in routes} == {"digest"}
    sizes = Counter(r.digest_id for r in routes)
    assert sorted(sizes.values(), reverse=True) == [3, 3, 1]
    assert [r.created for r in routes] == [True, False, False] * 2 + [True]
    # And every digest is due when the same window closes (nothing waits longer)
    due = [r.due_in_s for r in routes]
    assert max(due) - min(due) < 1.0, due
    # And each, when sent, lists only its own changes
    with db.begin() as session:
        session.execute(text("UPDATE email_digests SET due_at = now() - interval '1 second'"))
    for digest_id, size in sizes.items():
        with db.begin() as session:
            claimed = outbox.claim(
                session, outbox.DIGESTS, digest_id, stale_after_s=60, max_attempts=5
            )
            assert claimed is not None and not isinstance(claimed, outbox.NotDue)
            job = load_digest(session, claimed)
            assert len(job.delivery_ids) == len(job.alerts) == size


def test_racing_routers_never_overfill_a_digest(db):
    max_changes = 4
    # Given forty changes for one recipient (the first goes alone and opens the window)
    first, *rest = pending_deliveries(db, 41)
    route(db, first, max_changes)

    # When four workers route them at once
    with ThreadPoolExecutor(max_workers=4) as pool:
        routes = list(pool.map(lambda d: route(db, d, max_changes), rest))

    # Then every change is in exactly one digest and no digest lists more than the limit
    sizes = Counter(r.digest_id for r in routes)
    assert sum(sizes.values()) == 40
    assert max(sizes.values()) <= max_changes
    assert len(sizes) == 40 // max_changes
    with db() as session:
        counted = dict(session.execute(text("SELECT id, changes FROM email_digests")).all())
    assert counted == dict(sizes)
