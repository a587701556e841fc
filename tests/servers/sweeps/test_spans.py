"""A sweep's batch is a span of keys (after, last]: cut in the database, read by the check in
one range scan, persisted with one range lock; the same result as naming the keys."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from shelfops_alerts.alerts.persist import persist_batch
from shelfops_alerts.db import session_factory
from shelfops_alerts.detect.checks import check_batch
from shelfops_alerts.detect.sku_pages import sku_spans
from shelfops_alerts.ledger import store
from shelfops_alerts.skus import Sku, SkuSpan
from shelfops_alerts.vocabulary import STOCKOUT_PREDICTED
from tests.support.data import put_skus, rows, today

C = "acme"
#: Five SKUs in key order; P1 and P3 low on stock (a stockout alert each).
SKUS = [("S1", "P0", 500.0), ("S1", "P1", 5.0), ("S1", "P2", 500.0), ("S1", "P3", 5.0)]
SKUS += [("S2", "P0", 500.0)]


def catalogue(db) -> None:
    put_skus(db, C, [(s, p, h, 10.0) for s, p, h in SKUS])
    put_skus(db, "other", [("S1", "P1", 5.0, 10.0)])


def check_and_persist(db, span: SkuSpan, *, limit: int | None = None):
    with db() as session:
        checked = check_batch(session, customer_id=C, span=span, today=today(), limit=limit)
    with db.begin() as session:
        persist_batch(session, batch=checked, check_id=str(uuid.uuid4()))
    return checked


def alerts(db) -> list[tuple[str, str, str, str, int]]:
    return [
        (r.customer_id, r.store_id, r.product_id, r.status, r.clear_checks)
        for r in rows(
            db,
            "SELECT customer_id, store_id, product_id, status, clear_checks FROM alerts"
            " ORDER BY customer_id, store_id, product_id",
        )
    ]


def test_spans_cover_every_key_once_and_a_walk_continues_after_a_key(db, settings):
    catalogue(db)
    factory = session_factory(settings)
    # When a customer's five SKUs are cut into pages of two
    spans = list(sku_spans(factory, customer_id=C, page_size=2))
    # Then three spans follow each other, the last one short, and name no key in between
    assert spans == [
        SkuSpan(None, Sku("S1", "P1")),
        SkuSpan(Sku("S1", "P1"), Sku("S1", "P3")),
        SkuSpan(Sku("S1", "P3"), Sku("S2", "P0")),
    ]
    # And a walk that continues after a key starts with the key after it
    assert list(sku_spans(factory, customer_id=C, page_size=2, after=Sku("S1", "P2"))) == [
        SkuSpan(Sku("S1", "P2"), Sku("S2", "P0"))
    ]
    assert list(sku_spans(factory, customer_id=C, page_size=2, after=Sku("S2", "P0"))) == []


def test_a_span_checks_exactly_its_keys_and_a_long_one_leaves_the_rest(db):
    catalogue(db)
    span = SkuSpan(Sku("S1", "P0"), Sku("S2", "P0"))
    with db() as session:
        whole = check_batch(session, customer_id=C, span=span, today=today())
        cut = check_batch(session, customer_id=C, span=span, today=today(), limit=2)
    # Then the span's keys are checked (not the one before it, nor the other customer's; the
    # far ones, cleared by the pre-screen in SQL, are listed first)
    assert sorted(whole.checked) == [
        Sku("S1", "P1"),
        Sku("S1", "P2"),
        Sku("S1", "P3"),
        Sku("S2", "P0"),
    ]
    assert sorted(f.product_id for f in whole.findings) == ["P1", "P3"]
    assert whole.span == span and whole.rest is None
    # And a check limited to two keys checks the first two; the rest is a span of its own
    assert sorted(cut.checked) == [Sku("S1", "P1"), Sku("S1", "P2")]
    assert cut.span == SkuSpan(Sku("S1", "P0"), Sku("S1", "P2"))
    assert cut.rest == SkuSpan(Sku("S1", "P2"), Sku("S2", "P0"))
    # And the span travels to persist with the result
    assert type(whole).from_json(whole.to_json()).span == span


def test_a_span_clears_only_the_alerts_it_evaluated(db):
    catalogue(db)
    everything = SkuSpan(None, Sku("S2", "P0"))
    with db() as session:
        event = check_batch(session, customer_id="other", skus=[Sku("S1", "P1")], today=today())
    with db.begin() as session:
        persist_batch(session, batch=event, check_id="event")
    # Given open alerts for P1 and P3 (and the other customer's P1)
    check_and_persist(db, everything)
    # When stock arrives for both, P3 loses its forecast, and the first two keys are checked
    with db.begin() as session:
        session.execute(text("UPDATE inventory SET on_hand = 500"))
        session.execute(
            text("DELETE FROM forecasts WHERE customer_id = :c AND product_id = 'P3'"), {"c": C}
        )
    checked = check_and_persist(db, SkuSpan(None, Sku("S1", "P1")))
    assert checked.evaluated == [
        (Sku("S1", "P0"), STOCKOUT_PREDICTED),
        (Sku("S1", "P1"), STOCKOUT_PREDICTED),
    ]
    # Then only P1's alert counts a clean check
    assert alerts(db) == [
        (C, "S1", "P1", "open", 1),
        (C, "S1", "P3", "open", 0),
        ("other", "S1", "P1", "open", 0),
    ]
    # And a span that holds P3 without a forecast leaves its alert alone
    check_and_persist(db, SkuSpan(Sku("S1", "P1"), Sku("S2", "P0")))
    assert alerts(db)[1] == (C, "S1", "P3", "open", 0)


def test_a_span_in_the_ledger_is_queued_again_as_the_same_span(db, settings):
    span = SkuSpan(Sku("S1", "P1"), Sku("S1", "P3"))
    planned = store.Batch(C, span, {"sweep_id": 1, "batch": 0}, None, ("a", "b", "c"))
    with session_factory(settings).begin() as session:
        (recorded,) = store.record(session, [planned])
        session.execute(text("UPDATE batch_ledger SET queued_at = now() - interval '1 hour'"))
    with session_factory(settings).begin() as session:
        (again,) = store.overdue(session, grace_s=60, limit=10)
    assert again.skus == span
    assert (
        again.skus_json() == recorded.skus_json() == {"after": ["S1", "P1"], "last": ["S1", "P3"]}
    )
    assert again.what() == "the SKUs after S1/P1 up to S1/P3"
