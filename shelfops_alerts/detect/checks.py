"""Checking a batch of SKUs: one bulk read per kind of input, then the pure rules.

A batch is one customer's SKUs. Its inputs (settings, stock with the forecast from today on,
policies, arrivals, recent sales with their past forecasts) are read by
:mod:`shelfops_alerts.detect.batch_inputs` in at most five queries whatever the batch size.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from typing import Any

from sqlalchemy.orm import Session

from shelfops_alerts.detect.batch_inputs import (
    ARRIVALS,
    HISTORY,
    POLICIES,
    BatchInputs,
    SkuInputs,
    read_batch_inputs,
)
from shelfops_alerts.detect.rules import (
    Finding,
    NotEnoughHistory,
    check_accuracy,
    check_anomaly,
    check_reorder,
    check_stockout,
)
from shelfops_alerts.detect.rules.stockout import lasts_beyond
from shelfops_alerts.payloads.finding_columns import findings_from_columns, findings_to_columns
from shelfops_alerts.payloads.findings import check_findings
from shelfops_alerts.skus import Sku, SkuSpan, parse_span
from shelfops_alerts.stack.garbage import paused_gc
from shelfops_alerts.vocabulary import (
    ALERT_TYPES,
    ANOMALY_DETECTED,
    FORECAST_ACCURACY_LOW,
    REORDER_RECOMMENDED,
    STOCKOUT_PREDICTED,
)

logger = logging.getLogger(__name__)

#: The inputs (beyond stock and the forecast from today, always read) each rule needs.
INPUT_KINDS: dict[str, frozenset[str]] = {
    STOCKOUT_PREDICTED: frozenset({ARRIVALS, POLICIES}),
    REORDER_RECOMMENDED: frozenset({POLICIES, ARRIVALS, HISTORY}),
    ANOMALY_DETECTED: frozenset({HISTORY}),
    FORECAST_ACCURACY_LOW: frozenset({HISTORY}),
}
#: Longest reason kept for a refused SKU (the persist task refuses longer ones).
MAX_REASON_LENGTH = 1000
#: Alert types that depend on sales history; what ``shelfops.sales_recorded`` checks.
SALES_TYPES = (ANOMALY_DETECTED, FORECAST_ACCURACY_LOW)
#: The order in which _evaluate judges a SKU (reorder first: its reorder point goes into the
#: stockout finding).
EVALUATION_ORDER = (REORDER_RECOMMENDED, STOCKOUT_PREDICTED, *SALES_TYPES)


@dataclass
class BatchResult:
    """What a batch check found, as JSON for the next task in the chain.

    ``evaluated`` lists every (SKU, alert type) pair a rule was evaluated for: persist
    resolves an active alert of that pair when no finding of it came back, and leaves
    alerts of pairs not evaluated (missing inputs) alone. ``context`` rides along the chain
    unchanged (for example the sweep a batch belongs to). ``span``: the checked SKUs are
    all those of this span of keys (a sweep's page), so persist finds their alerts by one
    range scan; ``rest`` (not passed on) is the part of a span too long to check at once.
    """

    customer_id: str
    evaluated: list[tuple[Sku, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    unknown: list[Sku] = field(default_factory=list)
    without_forecast: list[Sku] = field(default_factory=list)
    #: SKUs whose stored inputs a rule refused (e.g. a NaN forecast), with the reason; they
    #: are not evaluated, so nothing about them changes, and the rest of the batch goes on.
    rejected: list[tuple[Sku, str]] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    span: SkuSpan | None = None
    rest: SkuSpan | None = None

    @property
    def checked(self) -> list[Sku]:
        """SKUs for which at least one rule was evaluated, in first-seen order."""
        return list(dict.fromkeys(map(itemgetter(0), self.evaluated)))

    @paused_gc()
    def to_json(self) -> dict[str, Any]:
        """Plain JSON; ``evaluated`` is columnar (the checked SKUs once, and per alert type
        the ranges of their positions it was evaluated for), so a batch of thousands of SKUs
        is a small message rather than a triple per SKU and type; so are ``findings``
        (:mod:`shelfops_alerts.payloads.finding_columns`: each metadata key once per
        layout, not once per finding)."""
        data = {
            "customer_id": self.customer_id,
            "evaluated": _evaluated_to_json(self.evaluated),
            "findings": findings_to_columns(self.findings),
            "unknown": [list(sku) for sku in self.unknown],
            "without_forecast": [list(sku) for sku in self.without_forecast],
            "rejected": [[sku.store_id, sku.product_id, why] for sku, why in self.rejected],
            "context": self.context,
        }
        if self.span is not None:
            data["span"] = self.span.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchResult:
        return cls(
            customer_id=str(data["customer_id"]),
            evaluated=_evaluated_from_json(data.get("evaluated") or []),
            findings=_findings_from_json(data.get("findings") or []),
            unknown=[Sku(str(s), str(p)) for s, p in data.get("unknown", [])],
            without_forecast=[Sku(str(s), str(p)) for s, p in data.get("without_forecast", [])],
            rejected=[(Sku(str(s), str(p)), str(why)) for s, p, why in data.get("rejected", [])],
            context=dict(data.get("context") or {}),
            span=parse_span(data["span"]) if data.get("span") is not None else None,
        )


def _findings_from_json(data: Any) -> list[Finding]:
    """The findings of a message: columns (``to_json``), or an object per finding (the
    earlier form, of messages queued or dead-lettered by an older release)."""
    if isinstance(data, list):
        return [Finding.from_json(item) for item in data]
    return findings_from_columns(data, most=len(data.get("layout") or ()))


def _evaluated_to_json(evaluated: list[tuple[Sku, str]]) -> dict[str, Any]:
    """``{"stores": [...], "products": [...], "types": {type: [[start, stop], ...]}}``."""
    position: dict[Sku, int] = {}
    runs: dict[str, list[list[int]]] = {}
    for sku, kind in evaluated:
        at = position.get(sku)
        if at is None:
            at = position[sku] = len(position)
        kind_runs = runs.setdefault(kind, [])
        if kind_runs and kind_runs[-1][1] == at:
            kind_runs[-1][1] = at + 1
        else:
            kind_runs.append([at, at + 1])
    return {
        "stores": [sku.store_id for sku in position],
        "products": [sku.product_id for sku in position],
        "types": {kind: merged_runs(kind_runs) for kind, kind_runs in runs.items()},
    }


def merged_runs(runs: list[list[int]]) -> list[list[int]]:
    """Runs sorted, with overlapping and touching ones joined (a pair listed twice, or out
    of order, still comes back once)."""
    merged: list[list[int]] = []
    for start, stop in sorted(runs):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return merged


def _evaluated_from_json(data: Any) -> list[tuple[Sku, str]]:
    """The (SKU, type) pairs, SKU by SKU in first-seen order; also reads the earlier form (a
    ``[store, product, type]`` triple per pair) of messages queued by an older release."""
    if isinstance(data, list):
        return [(Sku(str(s), str(p)), str(k)) for s, p, k in data]
    skus = [Sku(str(s), str(p)) for s, p in zip(data["stores"], data["products"], strict=True)]
    types_at: list[list[str]] = [[] for _ in skus]
    for kind, runs in data["types"].items():
        # (joined first, as ``payloads.chain.read_batch`` does: a pair listed twice counts once)
        for start, stop in merged_runs([[int(start), int(stop)] for start, stop in runs]):
            for at in range(start, stop):
                types_at[at].append(str(kind))
    return [(sku, kind) for sku, kinds in zip(skus, types_at, strict=True) for kind in kinds]


@paused_gc()  # a batch's many small objects, none in a cycle (stack/garbage.py)
def check_batch(
    session: Session,
    *,
    customer_id: str,
    skus: Sequence[Sku] = (),
    today: dt.date,
    context: dict[str, Any] | None = None,
    only_types: Collection[str] | None = None,
    screen_history: bool = True,
    span: SkuSpan | None = None,
    limit: int | None = None,
) -> BatchResult:
    """Evaluate the rules for ``skus`` of one customer, reading their inputs in bulk.

    ``only_types`` limits the check to those alert types (default: all four), and only the
    inputs they need are read. A rule is evaluated for a SKU only when the SKU has its
    inputs (stockout: a forecast from today on; reorder: that and a policy; anomaly and
    accuracy: enough recent sales days with their forecasts); pairs without them are not
    listed as evaluated, so their alerts are left alone. SKUs with no inventory row are
    reported as unknown; SKUs with no forecast from ``today`` on as without forecast. A SKU
    whose finding could not be stored or sent (say, an infinite number in its metadata) is
    refused with the reason like one whose input a rule refuses. ``screen_history=False``
    runs the history rules on every SKU's days, without the history pre-screen (the same
    result, slower: the reference the tests compare the screen with).

    With ``span`` (a sweep's page) the SKUs are those of the span, at most ``limit`` of
    them (the first); the keys after those are left for the caller as ``rest``.
    """
    types = set(ALERT_TYPES if only_types is None else only_types)
    if types - set(ALERT_TYPES):
        raise ValueError(f"unknown alert type(s): {', '.join(sorted(types - set(ALERT_TYPES)))}")
    result = BatchResult(customer_id=customer_id, context=dict(context or {}))
    if (not skus and span is None) or not types:
        return result
    kinds: set[str] = set().union(*(INPUT_KINDS[kind] for kind in types))
    inputs = read_batch_inputs(
        session,
        customer_id=customer_id,
        skus=skus,
        today=today,
        kinds=kinds,
        screen=screen_history,
        span=span,
        limit=limit,
        stockout=STOCKOUT_PREDICTED in types,
    )
    result.evaluated.extend([(sku, STOCKOUT_PREDICTED) for sku in inputs.quiet])  # far (SQL)
    result.unknown = inputs.unknown
    if span is not None:
        result.rest = inputs.rest
        # A span cut short covers only the keys read, up to the rest's start.
        read_up_to = span.last if inputs.rest is None else inputs.rest.after
        assert read_up_to is not None
        result.span = SkuSpan(span.after, read_up_to)
    medium_days = inputs.thresholds.medium_days
    stockout = STOCKOUT_PREDICTED in types
    # The alert types a quiet SKU is evaluated for, by what the history screen settled (a
    # handful of sets, each worked out once).
    quiet_kinds: dict[frozenset[str], tuple[str, ...]] = {}
    # The SKU of each finding, in order.
    found_for: list[Sku] = []
    for item in inputs.skus:
        if not item.demand:
            result.without_forecast.append(item.sku)
        elif (
            stockout
            and not item.history
            and (item.policy is None or REORDER_RECOMMENDED in item.settled)
            and (item.far or lasts_beyond(item.on_hand, item.demand, item.arrivals, medium_days))
        ):
            # Most SKUs of a sweep: no rule has anything to compute (no history, or what
            # there is the history pre-screen settled), and their stock outlasts the stockout
            # thresholds — so each rule that judges them finds nothing, as _evaluate would say.
            settled = item.settled
            if (judged := quiet_kinds.get(settled)) is None:
                judged = quiet_kinds[settled] = tuple(
                    kind
                    for kind in EVALUATION_ORDER
                    if kind in types and (kind == STOCKOUT_PREDICTED or kind in settled)
                )
            result.evaluated.extend(zip(repeat(item.sku), judged))
            continue
        try:
            verdicts = list(_evaluate(item, inputs, types, today))
        except (ValueError, ArithmeticError) as exc:
            # Bad stored input for this SKU only: say why, change nothing about it. (A huge
            # sale, say 1e200 units, makes σ infinite and the reorder quantity overflow.)
            _refuse(result, item.sku, exc)
            continue
        for kind, finding in verdicts:
            result.evaluated.append((item.sku, kind))
            if finding is not None:
                result.findings.append(finding)
                found_for.append(item.sku)
    # Every finding as dedup_and_persist will check it (all at once: see check_findings);
    # a SKU with one it would refuse is refused alone, its other verdicts with it.
    failed: dict[Sku, ValueError] = {}
    for at, error in check_findings(result.findings):
        failed.setdefault(found_for[at], error)
    if failed:
        result.evaluated = [pair for pair in result.evaluated if pair[0] not in failed]
        result.findings = [
            finding
            for finding, sku in zip(result.findings, found_for, strict=True)
            if sku not in failed
        ]
        for sku, reason in failed.items():
            _refuse(result, sku, reason)
    return result


def _refuse(result: BatchResult, sku: Sku, exc: Exception) -> None:
    """Refuse one SKU of the batch with the reason (logged): nothing about it changes."""
    logger.warning("SKU %s of %s refused: %s", sku, result.customer_id, exc)
    result.rejected.append((sku, str(exc)[:MAX_REASON_LENGTH]))


def _evaluate(
    item: SkuInputs, inputs: BatchInputs, types: set[str], today: dt.date
) -> Iterator[tuple[str, Finding | None]]:
    """(alert type, finding or None) for each rule that could judge this SKU."""
    store, product = item.sku
    settings = inputs.settings
    on_order = item.effective_on_order
    reorder_point = item.policy.reorder_point if item.policy else None
    settled = item.settled
    if REORDER_RECOMMENDED in settled and REORDER_RECOMMENDED in types:
        # The history pre-screen found its σ too small to bring the reorder point up to the
        # position (rules/screen.py): the rule would find nothing.
        yield REORDER_RECOMMENDED, None
    elif REORDER_RECOMMENDED in types and item.policy is not None and item.demand:
        reorder = check_reorder(
            store_id=store,
            product_id=product,
            on_hand=item.on_hand,
            on_order=on_order,
            daily_demand=item.demand,
            policy=item.policy,
            history=item.history,
            settings=settings,
        )
        if reorder is not None:
            reorder_point = reorder.metadata["reorder_point"]
        yield REORDER_RECOMMENDED, reorder
    if STOCKOUT_PREDICTED in types and item.demand:
        if item.far or lasts_beyond(
            item.on_hand, item.demand, item.arrivals, inputs.thresholds.medium_days
        ):
            # Far from a stockout, and the rule would say so (see lasts_beyond).
            yield STOCKOUT_PREDICTED, None
        else:
            yield (
                STOCKOUT_PREDICTED,
                check_stockout(
                    store_id=store,
                    product_id=product,
                    on_hand=item.on_hand,
                    on_order=on_order,
                    daily_demand=item.demand,
                    daily_arrivals=item.arrivals,
                    thresholds=inputs.thresholds,
                    reorder_point=reorder_point,
                ),
            )
    rules: dict[str, Callable[[], Finding | None]] = {
        ANOMALY_DETECTED: lambda: check_anomaly(
            store_id=store,
            product_id=product,
            on_hand=item.on_hand,
            history=item.history,
            today=today,
            settings=settings,
        ),
        FORECAST_ACCURACY_LOW: lambda: check_accuracy(
            store_id=store, product_id=product, history=item.history, settings=settings
        ),
    }
    for kind in SALES_TYPES:
        if kind not in types:
            continue
        if kind in settled:
            yield kind, None  # judged quiet by the history pre-screen (rules/screen.py)
        elif item.history:
            # (Both history rules need days with a forecast, at least one by their
            # settings' validation: without any they cannot judge, so none is asked.)
            yield from _if_judged(kind, rules[kind])


def _if_judged(kind: str, rule: Callable[[], Finding | None]) -> list[tuple[str, Finding | None]]:
    """The rule's verdict, or nothing when it lacks the history to judge."""
    try:
        return [(kind, rule())]
    except NotEnoughHistory:
        return []
