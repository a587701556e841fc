"""The ``batch_ledger`` table's statements; the caller owns the transaction.

A row holds what queues its chain again: the customer, the batch's SKU keys (or, for a
sweep's page, its span of keys: ``{"after": ..., "last": ...}``), its context and rules,
and the chain's task ids (check, persist, publish).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger, String

from shelfops_alerts.db import execute_prepared, prepared
from shelfops_alerts.skus import Sku, SkuSpan, is_span, parse_span
from shelfops_alerts.vocabulary import DONE, sql_word


@dataclass(frozen=True)
class Batch:
    """One batch chain as queued (or to queue again). ``ledger_id`` is None until recorded."""

    customer_id: str
    #: The SKUs named, or the span of keys a sweep's page covers (read by the check).
    skus: tuple[Sku, ...] | SkuSpan
    context: dict[str, Any] | None
    only_types: list[str] | None
    task_ids: tuple[str, str, str]
    ledger_id: int | None = None
    requeues: int = 0

    def skus_json(self) -> Any:
        """The batch's SKUs as its check message names them: a span, or a list of pairs."""
        if isinstance(self.skus, SkuSpan):
            return self.skus.to_json()
        return [list(sku) for sku in self.skus]

    def what(self) -> str:
        """Which SKUs, for a log line."""
        if isinstance(self.skus, SkuSpan):
            return str(self.skus)
        return f"{len(self.skus)} SKUs"

    def chain_context(self) -> dict[str, Any]:
        """The context its chain carries: its own, plus its ledger row (closed by publish)."""
        return {**(self.context or {}), "ledger": self.ledger_id}


def record(session: Session, batches: Sequence[Batch]) -> list[Batch]:
    """Write one row per batch in one multi-row INSERT; returns the batches with their ids."""
    if not batches:
        return []
    values = []
    params: dict[str, Any] = {}
    for n, batch in enumerate(batches):
        values.append(
            f"(:c{n}, CAST(:s{n} AS jsonb), CAST(:x{n} AS jsonb), CAST(:o{n} AS jsonb), :t{n})"
        )
        params[f"c{n}"] = batch.customer_id
        params[f"s{n}"] = json.dumps(batch.skus_json())
        params[f"x{n}"] = None if batch.context is None else json.dumps(batch.context)
        params[f"o{n}"] = None if batch.only_types is None else json.dumps(batch.only_types)
        params[f"t{n}"] = list(batch.task_ids)
    statement = text(
        "INSERT INTO batch_ledger (customer_id, skus, context, only_types, task_ids) VALUES "
        + ", ".join(values)
        + " RETURNING id, task_ids[1]"
    ).bindparams(*(bindparam(f"t{n}", type_=ARRAY(String)) for n in range(len(batches))))
    ids = {check_id: row_id for row_id, check_id in session.execute(statement, params)}
    return [_with_id(batch, ids[batch.task_ids[0]]) for batch in batches]


def _with_id(batch: Batch, ledger_id: int) -> Batch:
    return Batch(
        batch.customer_id, batch.skus, batch.context, batch.only_types, batch.task_ids, ledger_id
    )


def done_sql(ledger_id: str) -> str:
    """The UPDATE that marks row ``ledger_id`` (an SQL expression) done, once: for
    :func:`mark_done`, and for the publish, which runs it in its own statement."""
    return (
        f"UPDATE batch_ledger SET done_at = now(), outcome = {sql_word(DONE)}"
        f" WHERE id = {ledger_id} AND done_at IS NULL"
    )


_DONE = prepared("ledger_done", text(done_sql(":ledger_id")))


def mark_done(session: Session, *, ledger_id: int) -> None:
    """The chain of row ``ledger_id`` reached its publish: the batch is checked."""
    execute_prepared(session, _DONE, {"ledger_id": ledger_id})


_OVERDUE = text(
    """
    SELECT id, customer_id, skus, context, only_types, task_ids, requeues FROM batch_ledger
    WHERE done_at IS NULL
      AND COALESCE(requeued_at, queued_at) < now() - make_interval(secs => :grace_s)
    ORDER BY queued_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)


def overdue(session: Session, *, grace_s: float, limit: int) -> list[Batch]:
    """Unfinished rows queued (or last re-queued) longer than ``grace_s`` ago, oldest first,
    locked for this transaction (another relay skips them)."""
    rows = session.execute(_OVERDUE, {"grace_s": grace_s, "limit": limit})
    return [
        Batch(
            customer_id=row.customer_id,
            skus=(
                parse_span(row.skus)
                if is_span(row.skus)
                else tuple(Sku(store, product) for store, product in row.skus)
            ),
            context=row.context,
            only_types=row.only_types,
            task_ids=(row.task_ids[0], row.task_ids[1], row.task_ids[2]),
            ledger_id=row.id,
            requeues=row.requeues,
        )
        for row in rows
    ]


_DEAD_LETTERS = text("SELECT task_id FROM dead_letters WHERE task_id = ANY(:task_ids)")


def dead_letter_task_ids(session: Session, task_ids: Iterable[str]) -> set[str]:
    """Which of ``task_ids`` are dead letters (parked, replayed or discarded)."""
    wanted = list(task_ids)
    if not wanted:
        return set()
    statement = _DEAD_LETTERS.bindparams(bindparam("task_ids", type_=ARRAY(String)))
    return set(session.execute(statement, {"task_ids": wanted}).scalars())


_REQUEUED = text(
    """
    UPDATE batch_ledger SET requeues = requeues + 1, requeued_at = now()
    WHERE id = ANY(:ids) AND done_at IS NULL
    """
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))

_CLOSE = text(
    """
    UPDATE batch_ledger SET done_at = now(), outcome = :outcome
    WHERE id = ANY(:ids) AND done_at IS NULL
    """
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))


def mark_requeued(session: Session, ledger_ids: Sequence[int]) -> None:
    """These rows' chains are queued again (after this commit): count it."""
    if ledger_ids:
        session.execute(_REQUEUED, {"ids": list(ledger_ids)})


def close(session: Session, ledger_ids: Sequence[int], *, outcome: str) -> None:
    """Stop watching these rows: ``outcome`` says why (a ledger outcome word)."""
    if ledger_ids:
        session.execute(_CLOSE, {"ids": list(ledger_ids), "outcome": outcome})


_UNFINISHED = text("SELECT count(*) FROM batch_ledger WHERE done_at IS NULL")


def unfinished(session: Session) -> int:
    """Rows whose chain has not finished (in flight, or lost and not yet re-queued)."""
    return int(session.execute(_UNFINISHED).scalar_one())
