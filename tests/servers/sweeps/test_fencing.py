"""Two sweeps at once: only the sweep holding the turn counts clean checks.

Batches run here as a worker runs them (``task.apply()``, in this process), in an order the
test chooses: the interleaving of two sweeps that a long backlog produces.
"""

from __future__ import annotations

import uuid

import pytest
import redis
from sqlalchemy import text

from shelfops_alerts.db import session_factory
from shelfops_alerts.sweeps.lock import LOCK_KEY, lock_holder
from shelfops_alerts.sweeps.runner import run_sweep
from tests.support.data import put_skus, rows
from tests.support.lifecycle_data import clear_silences

C = "acme"
SKUS = [("S1", "P1"), ("S1", "P2"), ("S2", "P1"), ("S2", "P2")]


@pytest.fixture()
def cleared(db, tasks_app):
    """Four SKUs with an open stockout alert each, whose stock has since been refilled."""
    clear_silences(db)
    put_skus(db, C, [(s, p, 5.0, 10.0) for s, p in SKUS])
    run_batch([list(sku) for sku in SKUS], None)
    with db.begin() as session:
        session.execute(text("UPDATE inventory SET on_hand = 500"))
    assert [a.status for a in alerts(db)] == ["open"] * 4
    return db


def run_batch(skus: list[list[str]] | dict, context: dict | None) -> None:
    """check → persist → publish for one batch, as the chain runs them on a worker."""
    from workers.tasks.checks import check_stockout_risk
    from workers.tasks.persist import dedup_and_persist
    from workers.tasks.publish import publish_alerts

    checked = check_stockout_risk.apply(args=(C, skus), kwargs={"context": context}).get()
    persisted = dedup_and_persist.apply(args=(checked,), task_id=str(uuid.uuid4())).get()
    publish_alerts.apply(args=(persisted,)).get()


class Queue:
    """Stands in for the broker between a sweep and its batches: records what is queued."""

    def __init__(self) -> None:
        self.batches: list[tuple[dict, dict]] = []

    def __call__(self, customer, pages, context, first, after_each) -> int:
        count = 0
        for page in pages:
            # a page is a span of keys, as the check message carries it
            self.batches.append((page.to_json(), {**context, "batch": first + count}))
            count += 1
            after_each(count)
        return count


def sweep(settings, token: str) -> tuple[dict, Queue]:
    queue = Queue()
    started = run_sweep(
        session_factory(settings, worker=True),
        redis.Redis.from_url(settings.redis_url.reveal()),
        token=token,
        customer_id=C,
        batch_size=2,
        lock_ttl_s=600,
        queue_batches=queue,
    )
    return started, queue


def alerts(db) -> list:
    return rows(db, "SELECT store_id, product_id, status, clear_checks FROM alerts ORDER BY id")


def sweep_status(db, sweep_id: int) -> str:
    return rows(db, "SELECT status FROM sweeps WHERE id = :i", i=sweep_id)[0].status


def test_a_sweep_that_lost_its_turn_counts_no_clean_check(cleared, settings):
    db = cleared
    client = redis.Redis.from_url(settings.redis_url.reveal())
    # Given sweep A, whose first batch ran while it held the lock
    first, a_queue = sweep(settings, "sweep-A")
    run_batch(*a_queue.batches[0])

    # When A's lock runs out during a backlog, sweep B starts, and only then does A's second
    # batch reach a worker
    client.delete(LOCK_KEY)
    second, b_queue = sweep(settings, "sweep-B")
    assert "refused" not in second
    run_batch(*a_queue.batches[1])

    # Then A's late batch counted no clean check, nor finished A, nor touched B's lock
    assert [(a.store_id, a.product_id, a.clear_checks) for a in alerts(db)] == [
        ("S1", "P1", 1),
        ("S1", "P2", 1),
        ("S2", "P1", 0),
        ("S2", "P2", 0),
    ]
    assert sweep_status(db, first["sweep_id"]) == "abandoned"
    assert lock_holder(client) == "sweep-B"

    # When B's batches run
    for batch in b_queue.batches:
        run_batch(*batch)

    # Then only the SKUs two sweeps found clear are resolved; the others wait for the next
    assert [(a.store_id, a.product_id, a.status) for a in alerts(db)] == [
        ("S1", "P1", "resolved"),
        ("S1", "P2", "resolved"),
        ("S2", "P1", "open"),
        ("S2", "P2", "open"),
    ]
    assert sweep_status(db, second["sweep_id"]) == "finished"
    assert sweep_status(db, first["sweep_id"]) == "abandoned"
    assert lock_holder(client) is None


def test_a_sweep_batch_run_twice_counts_one_clean_check(cleared, settings):
    db = cleared
    # Given a sweep's batch that runs, and then runs again with new task ids (queued again by
    # the sweep task continuing after a fault, or redelivered with its chain)
    _, queue = sweep(settings, "sweep-A")
    run_batch(*queue.batches[0])
    run_batch(*queue.batches[0])

    # Then its SKUs counted one clean check, not two: nothing resolved within one sweep
    assert [(a.status, a.clear_checks) for a in alerts(db)][:2] == [("open", 1), ("open", 1)]
    sweep_row = rows(db, "SELECT batches_done, skus_checked FROM sweeps")[0]
    assert (sweep_row.batches_done, sweep_row.skus_checked) == (1, 2)
