"""A sweep task that runs again (retried after a fault, or redelivered after its worker
died) keeps its lock and continues its sweep, instead of being refused."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import text

from shelfops_alerts.db import session_factory
from shelfops_alerts.skus import Sku, SkuSpan
from shelfops_alerts.sweeps.lock import lock_holder
from shelfops_alerts.sweeps.runner import run_sweep
from tests.support.data import put_skus, rows

#: Two customers, 5 and 3 SKUs: batches of 2 → 3 + 2 batches.
CATALOGUE = {
    "acme": [("S1", f"P{n}") for n in range(5)],
    "beta": [("T1", f"Q{n}") for n in range(3)],
}


@pytest.fixture()
def catalogue(db):
    for customer, skus in CATALOGUE.items():
        put_skus(db, customer, [(s, p, 500.0, 10.0) for s, p in skus])
    Broker.db = db
    return db


def keys_in(db, customer: str, span: SkuSpan) -> list[tuple[str, str]]:
    """The SKU keys a check of ``span`` reads (a sweep queues spans, not keys)."""
    after = span.after or Sku("", "")
    with db() as session:
        found = session.execute(
            text(
                "SELECT store_id, product_id FROM inventory WHERE customer_id = :c"
                " AND (store_id, product_id) > (:s, :p) AND (store_id, product_id) <= (:ls, :lp)"
                " ORDER BY store_id, product_id"
            ),
            {"c": customer, "s": after[0], "p": after[1], "ls": span.last[0], "lp": span.last[1]},
        )
        return [(store, product) for store, product in found]


class Broker:
    """Records the batches a sweep queues (each span's keys, as its check reads them);
    ``fail_at`` makes the n-th send fail as a broker that went away does."""

    db = None

    def __init__(self, fail_at: int | None = None) -> None:
        self.sent: list[tuple[str, list[tuple[str, str]], int]] = []
        self.fail_at = fail_at

    def __call__(self, customer, pages, context, first, after_each) -> int:
        count = 0
        for page in pages:
            if self.fail_at is not None and len(self.sent) == self.fail_at:
                raise redis.ConnectionError("Connection refused (the broker restarts)")
            self.sent.append((customer, keys_in(Broker.db, customer, page), first + count))
            count += 1
            after_each(count)
        return count


def sweep(settings, token: str, broker: Broker) -> dict:
    return run_sweep(
        session_factory(settings, worker=True),
        redis.Redis.from_url(settings.redis_url.reveal()),
        token=token,
        customer_id=None,
        batch_size=2,
        lock_ttl_s=600,
        queue_batches=broker,
    )


def test_a_sweep_task_run_again_continues_after_the_last_batch_it_queued(catalogue, settings):
    db = catalogue
    # Given a sweep task whose fourth send to the broker fails (three batches queued)
    first = Broker(fail_at=3)
    with pytest.raises(redis.ConnectionError):
        sweep(settings, "sweep-task-1", first)

    # When the same task runs again (Celery retries it: the same task id)
    again = Broker()
    result = sweep(settings, "sweep-task-1", again)

    # Then it is not refused: it continues the same sweep after the batches already queued
    assert "refused" not in result
    assert [(customer, number) for customer, _, number in again.sent] == [("beta", 3), ("beta", 4)]
    # And between the two runs every SKU was queued exactly once, in numbered batches
    queued = [(c, sku) for c, page, _ in first.sent + again.sent for sku in page]
    expected = [(c, sku) for c, skus in CATALOGUE.items() for sku in skus]
    assert queued == expected
    # And there is one sweep, expecting all five batches, its lock still held by the task
    (row,) = rows(db, "SELECT id, status, batches_queued, skus_total FROM sweeps")
    assert (row.status, row.batches_queued, row.skus_total) == ("running", 5, 8)
    assert result == {"sweep_id": row.id, "batches": 5, "skus_total": 8}
    assert lock_holder(redis.Redis.from_url(settings.redis_url.reveal())) == "sweep-task-1"


def test_a_sweep_task_delivered_again_after_queueing_everything_queues_nothing_more(
    catalogue, settings
):
    # Given a sweep task that queued all its batches (its worker died before acknowledging)
    first = Broker()
    started = sweep(settings, "sweep-task-2", first)

    # When its message is delivered again
    again = Broker()
    result = sweep(settings, "sweep-task-2", again)

    # Then it queues nothing twice and reports the same sweep
    assert again.sent == []
    assert result == started


def test_a_sweep_task_delivered_again_while_its_first_run_walks_leaves_the_walk_to_it(
    catalogue, settings
):
    # Given a sweep task still walking (its run outlived the broker's visibility timeout),
    # When the broker delivers the same task again, just after its first batch was queued
    second_run: dict = {}
    again = Broker()

    class RedeliveredMidWalk(Broker):
        def __call__(self, customer, pages, context, first, after_each) -> int:
            def then_redeliver(count: int) -> None:
                after_each(count)
                if not second_run:
                    second_run.update(sweep(settings, "sweep-task-6", again))

            return super().__call__(customer, pages, context, first, then_redeliver)

    first = RedeliveredMidWalk()
    result = sweep(settings, "sweep-task-6", first)

    # Then the second run queues nothing: the first one walks on and queues every batch once
    assert second_run == {"duplicate": True, "task_id": "sweep-task-6"}
    assert again.sent == []
    assert [number for _, _, number in first.sent] == [0, 1, 2, 3, 4]
    assert result["batches"] == 5


def test_another_sweep_is_still_refused_while_one_runs(catalogue, settings):
    sweep(settings, "sweep-task-3", Broker())
    assert sweep(settings, "sweep-task-4", Broker()) == {
        "refused": True,
        "holder": "sweep-task-3",
    }


def test_the_sweep_task_retried_by_celery_continues_its_sweep(catalogue, settings, tasks_app):
    from workers.tasks.sweep import sweep_all_skus

    client = redis.Redis.from_url(settings.redis_url.reveal())
    # Given the sweep task ran (its batch chains wait on the alerts queue)
    first = sweep_all_skus.apply(kwargs={"batch_size": 2}, task_id="sweep-task-5").get()
    waiting = client.llen("alerts")
    assert waiting == first["batches"] == 5

    # When the same task runs again (a redelivery: same task id)
    again = sweep_all_skus.apply(kwargs={"batch_size": 2}, task_id="sweep-task-5").get()

    # Then it is the same sweep, and no batch was queued twice
    assert again == first
    assert client.llen("alerts") == waiting
