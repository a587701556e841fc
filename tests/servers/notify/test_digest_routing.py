"""Routing deliveries into digests, and finishing digests, on the real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shelfops_alerts.notify import outbox
from shelfops_alerts.notify.deliveries import requeue_failed
from shelfops_alerts.notify.digests import finish_digest, load_digest, route_delivery

WINDOW_S = 60.0


@pytest.fixture()
def deliveries(db):
    """Four pending deliveries of four alert changes, all to one recipient of customer C1."""
    with db.begin() as session:
        session.execute(text("TRUNCATE email_windows, email_digests CASCADE"))
        ids = session.execute(
            text(
                """
                WITH a AS (
                    INSERT INTO alerts (customer_id, store_id, product_id, alert_type,
                                        severity, message)
                    SELECT 'C1', 'S1', 'P' || g, 'stockout_predicted', 'critical', 'm'
                    FROM generate_series(1, 4) g RETURNING id
                ),
                h AS (
                    INSERT INTO alert_history (alert_id, event, severity, status)
                    SELECT id, 'created', 'critical', 'open' FROM a RETURNING id, alert_id
                )
                INSERT INTO email_deliveries (alert_id, history_id, recipient)
                SELECT alert_id, id, 'ops@c1.example' FROM h ORDER BY id RETURNING id
                """
            )
        ).scalars()
        return db, sorted(int(i) for i in ids)


def claim(session, digest_id):
    return outbox.claim(session, outbox.DIGESTS, digest_id, stale_after_s=60, max_attempts=5)


def route(db, delivery_id, window_s=WINDOW_S):
    with db.begin() as session:
        return route_delivery(session, delivery_id=delivery_id, window_s=window_s)


def test_the_first_goes_alone_and_the_rest_of_the_window_join_one_digest(deliveries):
    db, (first, second, third, _) = deliveries
    # When three deliveries to one recipient are routed in a quiet period
    routes = [route(db, d) for d in (first, second, third)]

    # Then the first goes on its own, the next two join one digest, opened by the second
    assert routes[0].route == "single"
    assert routes[1].route == routes[2].route == "digest"
    assert routes[1].digest_id == routes[2].digest_id
    assert (routes[1].created, routes[2].created) == (True, False)
    # And routing again changes nothing: the decision is made once
    assert route(db, first).route == "single"
    assert route(db, second) is None  # waiting in its digest: nothing left to route
    wait = routes[1].due_in_s
    assert wait is not None and 0 < wait <= WINDOW_S


def test_a_window_of_zero_sends_everything_alone(deliveries):
    db, ids = deliveries
    assert {route(db, d, window_s=0).route for d in ids} == {"single"}


def test_a_sent_digest_marks_its_deliveries_sent_and_opens_the_next_window(deliveries):
    db, (first, second, third, fourth) = deliveries
    route(db, first)
    digest_id = route(db, second).digest_id
    route(db, third)
    with db.begin() as session:
        # Not due yet: nobody may claim it
        early = claim(session, digest_id)
        assert isinstance(early, outbox.NotDue) and 0 < early.wait_s <= WINDOW_S
        session.execute(text("UPDATE email_digests SET due_at = now() - interval '1 second'"))
    # When the due digest is claimed and sent
    with db.begin() as session:
        claimed = claim(session, digest_id)
        assert claimed is not None and not isinstance(claimed, outbox.NotDue)
        job = load_digest(session, claimed)
        assert job.delivery_ids == [second, third]
        assert [a["alert_id"] for a in job.alerts] == sorted(a["alert_id"] for a in job.alerts)
        assert len(job.alerts) == 2
    with db.begin() as session:
        finish_digest(
            session, digest_id=digest_id, status="sent", window_s=WINDOW_S, provider_message_id="m1"
        )
    # Then both deliveries are sent with the digest's message id, and claiming again does nothing
    with db() as session:
        found = session.execute(
            text("SELECT id, status, provider_message_id FROM email_deliveries ORDER BY id")
        ).all()
        assert claim(session, digest_id) is None
    assert [(r.status, r.provider_message_id) for r in found[1:3]] == [("sent", "m1")] * 2
    # And the next change joins a new digest (the window was opened again by the send)
    nxt = route(db, fourth)
    assert nxt.route == "digest" and nxt.digest_id != digest_id and nxt.created


def test_only_failed_deliveries_are_requeued(deliveries):
    db, (first, second, *_) = deliveries
    with db.begin() as session:
        session.execute(
            text("UPDATE email_deliveries SET status = 'failed', attempts = 3 WHERE id = :i"),
            {"i": first},
        )
    with db.begin() as session:
        done = requeue_failed(session, delivery_ids=[first, second, 999])
    assert done.requeued == [first]
    assert set(done.refused) == {second, 999}
    with db() as session:
        row = session.execute(
            text("SELECT status, attempts FROM email_deliveries WHERE id = :i"), {"i": first}
        ).one()
    assert (row.status, row.attempts) == ("pending", 0)


def test_a_change_routed_after_the_window_expired_joins_the_still_open_digest(deliveries):
    db, (first, second, third, _) = deliveries
    route(db, first)
    digest_id = route(db, second).digest_id
    # Given the window expired while its digest was not yet sent (a backlog is being routed)
    with db.begin() as session:
        session.execute(text("UPDATE email_windows SET open_until = now() - interval '1 second'"))
    # When the next change is routed
    late = route(db, third)
    # Then it joins that digest instead of going out alone
    assert (late.route, late.digest_id, late.created) == ("digest", digest_id, False)


def test_a_change_routed_while_the_digest_is_being_sent_opens_the_next_digest(deliveries):
    db, (first, second, third, _) = deliveries
    route(db, first)
    digest_id = route(db, second).digest_id
    # Given the window expired and its digest is being sent right now (claimed, not yet sent)
    with db.begin() as session:
        session.execute(text("UPDATE email_windows SET open_until = now() - interval '1 second'"))
        session.execute(text("UPDATE email_digests SET status = 'sending'"))
    # When the next change is routed
    late = route(db, third)
    # Then it is not mailed alone: it opens the next digest, due a whole window from now
    assert late.route == "digest" and late.created and late.digest_id != digest_id
    assert late.due_in_s is not None and WINDOW_S - 5 < late.due_in_s <= WINDOW_S
