"""Dedup and persist: findings become alerts, with one history row per change.

The partial unique index ``uq_alerts_one_active`` allows one active alert per SKU and type,
and every write goes through it (``INSERT … ON CONFLICT … DO UPDATE``), so two workers
racing on one SKU still make one alert. A batch costs a constant number of statements
whatever its size:

1. read the customer's active silences and the SKUs' active forecast_accuracy_low alerts
   (one statement), then run the findings through the muters in Python (inhibition.py,
   silencing.py: pure);
2. lock every alert row the batch may write, in key order (one index probe per SKU; for a
   sweep's page, a span of keys, one range scan over the span's active alerts), so two
   batches over the same SKUs wait for each other instead of deadlocking;
3. re-open recently resolved alerts that fire again, upsert the rest (new keys inserted in
   key order), and write their history (created / updated / escalated / reopened);
4. count a clean check on the active alerts of evaluated (SKU, type) pairs with no finding
   (picked from the rows locked in step 2, updated by id), and resolve those clean on
   ``resolve_after_checks`` consecutive checks (hysteresis);
5. create one e-mail delivery per mailed change and recipient.

A finding identical to its active alert changes nothing, and a clean check counts once per
``check_id`` (the persist task's id, stable when its message is redelivered), so a
redelivered batch writes nothing twice; a batch of a sweep that lost its turn writes its
findings but counts no clean check (``count_clean_checks=False``, see
:mod:`shelfops_alerts.sweeps.fencing`). Silenced changes are stored with ``silenced`` and
``published_at`` already set: the relay never publishes them and no delivery is made. The
caller owns the transaction and queues follow-up work after commit.

A batch of SKUs given by key (an event's; :func:`shelfops_alerts.db.runs_prepared` decides)
runs its statements prepared (:func:`shelfops_alerts.db.execute_prepared`): PostgreSQL plans
each once per connection instead of at each event, where planning was about a third of its
CPU. A sweep's page (a span of keys) and larger batches run them as plain statements,
planned for their values as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shelfops_alerts.alerts.lifecycle import LifecyclePolicy
from shelfops_alerts.alerts.mute_reads import read_muters
from shelfops_alerts.alerts.muting import judge_all
from shelfops_alerts.alerts.statements import (
    CLEAR,
    DELIVERIES,
    LOCK_ROWS,
    LOCK_SPAN,
    UPSERT,
)
from shelfops_alerts.db import array_literal, execute_prepared, runs_prepared
from shelfops_alerts.detect.checks import BatchResult
from shelfops_alerts.detect.rules import Finding
from shelfops_alerts.skus import Sku
from shelfops_alerts.vocabulary import ACTIVE_STATUSES, CREATED, ESCALATED, REOPENED

#: History events that e-mail recipients whose minimum severity the alert meets.
MAILED_EVENTS = (CREATED, ESCALATED, REOPENED)
#: History note of the first change after a silence ended; mailed, as its alert never was.
SILENCE_ENDED = "silence ended"
#: The savepoint the upsert runs under (sent in the upsert's round trip, never released:
#: the commit ends it), rolled back to when a racing re-open and insert met.
_UPSERT_SAVEPOINT = "persist_upsert"
#: A finding's metadata as the upsert stores it: ``json.dumps(metadata, sort_keys=True)``,
#: whose keyword builds a new encoder at every call; one encoder, made once, writes the same.
_METADATA_JSON = json.JSONEncoder(sort_keys=True).encode
_METADATA = attrgetter("metadata")


@dataclass
class PersistResult:
    """The changes one batch made: history rows to publish, deliveries to send.

    ``history_ids`` are the changes to publish (silenced ones are left out: they are stored
    only); ``events`` counts every change by event, silenced ones included, plus
    ``silenced`` for how many of them were.
    """

    customer_id: str
    history_ids: list[int] = field(default_factory=list)
    delivery_ids: list[int] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)
    skus_checked: int = 0
    context: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "history_ids": self.history_ids,
            "delivery_ids": self.delivery_ids,
            "events": self.events,
            "skus_checked": self.skus_checked,
            "context": self.context,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PersistResult:
        return cls(
            customer_id=str(data["customer_id"]),
            history_ids=[int(i) for i in data.get("history_ids", [])],
            delivery_ids=[int(i) for i in data.get("delivery_ids", [])],
            events={str(k): int(v) for k, v in data.get("events", {}).items()},
            skus_checked=int(data.get("skus_checked", 0)),
            context=dict(data.get("context") or {}),
        )


def _one_per_key(findings: list[Finding]) -> list[Finding]:
    """Keep the last finding per SKU and type (ON CONFLICT may touch a row only once), in
    key order: every batch writes its rows in one order (see :func:`_lock_rows`)."""
    by_key = {(f.store_id, f.product_id, f.alert_type): f for f in findings}
    return [by_key[key] for key in sorted(by_key)]


def _prepares(batch: BatchResult) -> bool:
    """Whether this batch runs its statements prepared (see the module's docstring)."""
    return runs_prepared(len(batch.checked), by_span=batch.span is not None)


def _lock_rows(
    session: Session,
    batch: BatchResult,
    findings: list[Finding],
    policy: LifecyclePolicy,
) -> list[Any]:
    """Lock every alert row this batch may write, in key order, before writing any; returns
    them (id, key and status, once locked).

    Two batches over the same SKUs (a sweep and an event, two sweeps) then wait for each
    other instead of each holding rows the other needs (a deadlock, 40P01), whatever order
    their SKUs came in and whichever of them found or cleared what. One row per SKU goes to
    the statement: the types it was evaluated or found for, and those it was found for. A
    batch that is a span of keys locks every active alert in its span instead (one range
    scan), and the alerts of the types found per SKU with a finding.
    """
    if batch.span is not None:
        return _lock_span(session, batch, findings, policy)
    types: dict[tuple[str, str], set[str]] = {}
    found: dict[tuple[str, str], set[str]] = {}
    for sku, kind in batch.evaluated:
        types.setdefault((sku.store_id, sku.product_id), set()).add(kind)
    for f in findings:
        types.setdefault((f.store_id, f.product_id), set()).add(f.alert_type)
        found.setdefault((f.store_id, f.product_id), set()).add(f.alert_type)
    if not types:
        return []
    skus = sorted(types)
    return list(
        execute_prepared(
            session,
            LOCK_ROWS,
            {
                "customer_id": batch.customer_id,
                "stores": array_literal([s for s, _ in skus]),
                "products": array_literal([p for _, p in skus]),
                "types": array_literal([",".join(sorted(types[sku])) for sku in skus]),
                "found": array_literal([",".join(sorted(found.get(sku, ()))) for sku in skus]),
                "reopen_within": policy.reopen_within_s,
            },
            prepare=_prepares(batch),
        ).all()
    )


def _lock_span(
    session: Session, batch: BatchResult, findings: list[Finding], policy: LifecyclePolicy
) -> list[Any]:
    assert batch.span is not None
    found: dict[tuple[str, str], set[str]] = {}
    for f in findings:
        found.setdefault((f.store_id, f.product_id), set()).add(f.alert_type)
    skus = sorted(found)
    after = batch.span.after or Sku("", "")
    return list(
        session.execute(
            LOCK_SPAN,
            {
                "customer_id": batch.customer_id,
                "after_store": after.store_id,
                "after_product": after.product_id,
                "last_store": batch.span.last.store_id,
                "last_product": batch.span.last.product_id,
                "stores": array_literal([s for s, _ in skus]),
                "products": array_literal([p for _, p in skus]),
                "found": array_literal([",".join(sorted(found[sku])) for sku in skus]),
                "reopen_within": policy.reopen_within_s,
            },
        ).all()
    )


def _upsert(session: Session, params: dict[str, Any], *, prepare: bool) -> list[Any]:
    """Run the upsert under a savepoint (set in the same round trip); once more if a racing
    re-open and insert met on the unique index.

    Two workers can only collide here when one re-opens an alert while another, whose
    snapshot predates its resolution, inserts a fresh one; the retry's new snapshot sees
    the winner and updates it instead.
    """
    for attempt in (1, 2):
        try:
            return list(
                execute_prepared(
                    session,
                    UPSERT,
                    params,
                    prepare=prepare,
                    before=f"SAVEPOINT {_UPSERT_SAVEPOINT};",
                ).all()
            )
        except IntegrityError as exc:
            if attempt == 2 or "uq_alerts_one_active" not in str(exc.orig):
                raise
            session.execute(text(f"ROLLBACK TO SAVEPOINT {_UPSERT_SAVEPOINT}"))
    raise AssertionError("unreachable")


def persist_batch(
    session: Session,
    *,
    batch: BatchResult,
    policy: LifecyclePolicy | None = None,
    check_id: str | None = None,
    count_clean_checks: bool = True,
) -> PersistResult:
    """Write a checked batch: upsert findings, count clean checks, queue deliveries.

    ``check_id`` identifies this check (the persist task's id, or the sweep's): a clean
    check with the same id counts once however often it is delivered. Without it every call
    counts. ``count_clean_checks=False`` (a batch of a sweep that lost its turn) writes the
    findings but counts no clean check, so it resolves nothing.
    """
    policy = policy or LifecyclePolicy()
    result = PersistResult(
        customer_id=batch.customer_id,
        skus_checked=len(batch.checked),
        context=batch.context,
    )
    findings = _one_per_key(batch.findings)
    prepare = _prepares(batch)
    rows: list[Any] = []
    if findings:
        muters = read_muters(session, batch.customer_id, findings, prepare=prepare)
        verdicts = judge_all(findings, muters)
        findings = [verdict.finding for verdict in verdicts]
    locked = _lock_rows(session, batch, findings, policy)
    if findings:
        rows += _upsert(
            session,
            {
                "customer_id": batch.customer_id,
                "stores": array_literal([f.store_id for f in findings]),
                "products": array_literal([f.product_id for f in findings]),
                "types": array_literal([f.alert_type for f in findings]),
                "severities": array_literal([f.severity for f in findings]),
                "messages": array_literal([f.message for f in findings]),
                "metas": array_literal(list(map(_METADATA_JSON, map(_METADATA, findings)))),
                "silences": array_literal([verdict.silence_id for verdict in verdicts]),
                "reopen_within": policy.reopen_within_s,
                "silence_ended": SILENCE_ENDED,
            },
            prepare=prepare,
        )
    stale = _stale(batch, findings, locked)
    if stale and count_clean_checks:
        rows += execute_prepared(
            session,
            CLEAR,
            {
                "ids": array_literal(sorted(stale)),
                "check_id": check_id,
                "resolve_after": policy.resolve_after_checks,
                "note": f"condition no longer met on {policy.resolve_after_checks}"
                " consecutive check(s)",
            },
            prepare=prepare,
        ).all()
    for row in rows:
        result.events[row.event] = result.events.get(row.event, 0) + 1
        if row.silenced:
            result.events["silenced"] = result.events.get("silenced", 0) + 1
        else:
            result.history_ids.append(int(row.id))
    result.history_ids.sort()
    if result.history_ids:
        result.delivery_ids = create_deliveries(
            session, history_ids=result.history_ids, prepare=prepare
        )
    return result


def _stale(batch: BatchResult, findings: list[Finding], locked: list[Any]) -> list[int]:
    """The locked active alerts whose (SKU, type) was evaluated without a finding: the
    ones a clean check counts on. (Only the few locked rows are looked up; most SKUs of a
    batch have no alert.)"""
    active = [row for row in locked if row.status in ACTIVE_STATUSES]
    if not active:
        return []
    found = {(f.store_id, f.product_id, f.alert_type) for f in findings}
    evaluated = set(batch.evaluated)
    return [
        int(row.id)
        for row in active
        if (Sku(row.store_id, row.product_id), row.alert_type) in evaluated
        and (row.store_id, row.product_id, row.alert_type) not in found
    ]


def create_deliveries(
    session: Session, *, history_ids: list[int], prepare: bool = False
) -> list[int]:
    """One pending delivery per mailed change and matching recipient (never two).

    Mailed: created, escalated and reopened changes, and the first change after a silence
    ended while the alert is open; never a silenced change.
    """
    delivered = execute_prepared(
        session,
        DELIVERIES,
        {
            "history_ids": array_literal(history_ids),
            "events": array_literal(MAILED_EVENTS),
            "silence_ended": SILENCE_ENDED,
        },
        prepare=prepare,
    ).scalars()
    return sorted(int(i) for i in delivered)
