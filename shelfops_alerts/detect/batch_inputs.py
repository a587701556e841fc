"""Reading what the rules need for a batch of SKUs: one query per kind of input.

Whatever the batch size, a batch costs at most five queries: the customer's thresholds and
rule settings; stock with the forecast from today on; policies; arrivals from today on; and
the recent past (the window's sales, screened by numpy with the forecasts stored for those
days, which the stock read sends: :mod:`shelfops_alerts.detect.history_inputs`). A caller asks only
for the kinds its rules use. Forecasts are read from ``forecast_horizons`` (one row per SKU,
kept by triggers on ``forecasts``), never a row per day.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from shelfops_alerts.db import array_literal, execute_prepared, runs_prepared
from shelfops_alerts.detect.history_inputs import read_history
from shelfops_alerts.detect.input_statements import (
    READ_ARRIVALS,
    READ_POLICIES,
    READ_SETTINGS,
    READ_SPAN,
    READ_SPAN_POLICIES,
    READ_STOCK,
)
from shelfops_alerts.detect.past_forecasts import PastForecasts
from shelfops_alerts.detect.rules import (
    DEFAULT_THRESHOLDS,
    Policy,
    RuleSettings,
    SalesDay,
    StockoutThresholds,
)
from shelfops_alerts.detect.rules.forecast_series import horizon_series
from shelfops_alerts.detect.rules.screen import demand_matrix, outlast, reorder_sigma_bounds
from shelfops_alerts.detect.rules.stockout import MIN_DAILY_DEMAND
from shelfops_alerts.detect.span_read import span_rows
from shelfops_alerts.skus import Sku, SkuSpan
from shelfops_alerts.vocabulary import ANOMALY_DETECTED, FORECAST_ACCURACY_LOW, REORDER_RECOMMENDED

#: The kinds of input beyond stock and the forecast horizon (which are always read).
POLICIES, ARRIVALS, HISTORY = "policies", "arrivals", "history"


@dataclass
class SkuInputs:
    """Everything the rules may use about one SKU, as plain values."""

    sku: Sku
    on_hand: float
    on_order: float
    #: Forecast demand per day from today; empty when there is no forecast from today on.
    demand: list[float] = field(default_factory=list)
    #: Confirmed quantity arriving per day from today (index 0 is today).
    arrivals: list[float] = field(default_factory=list)
    policy: Policy | None = None
    #: Days with sales in the history window (before today), oldest first. Without a
    #: policy, only the days that also have a forecast (the only days anomaly and accuracy
    #: judge), so it stays empty for a SKU with no forecast before today.
    history: list[SalesDay] = field(default_factory=list)
    #: History rules (alert types) the history pre-screen judged with no finding: the check
    #: records them as evaluated without running them (``history`` is left empty unless
    #: another rule needs it).
    settled: frozenset[str] = frozenset()
    #: The stock surely outlasts the customer's medium stockout threshold (what
    #: :func:`~shelfops_alerts.detect.rules.stockout.lasts_beyond` says), worked out for the
    #: batch at once; False: not known (the check asks ``lasts_beyond`` itself).
    far: bool = False

    @property
    def effective_on_order(self) -> float:
        """Stock on order: the inventory's figure, or the confirmed arrivals if they add up
        to more (then on_order was not kept up to date)."""
        return max(self.on_order, sum(self.arrivals))


@dataclass
class BatchInputs:
    """A batch's inputs: the customer's settings, the SKUs found, and those not found."""

    thresholds: StockoutThresholds
    settings: RuleSettings
    skus: list[SkuInputs]
    unknown: list[Sku]
    #: Of a span with more keys than the limit: the keys after those read (left unread).
    rest: SkuSpan | None = None
    #: SKUs (with a forecast from today on, no policy, history or arrival) whose stock the
    #: stockout pre-screen in SQL found to outlast the stockout thresholds: not in ``skus``.
    quiet: list[Sku] = field(default_factory=list)


def read_settings(session: Session, *, customer_id: str) -> tuple[StockoutThresholds, RuleSettings]:
    """The customer's stockout thresholds and rule settings (defaults where it set none)."""
    thresholds, settings, _ = _read_settings(session, customer_id)
    return thresholds, settings


def _read_settings(
    session: Session, customer_id: str
) -> tuple[StockoutThresholds, RuleSettings, set[str]]:
    """Thresholds, rule settings, and the kinds of input the customer has none of."""
    row = execute_prepared(session, READ_SETTINGS, {"customer_id": customer_id}).one()
    thresholds = DEFAULT_THRESHOLDS
    if row.critical_days is not None:
        thresholds = StockoutThresholds(
            float(row.critical_days), float(row.high_days), float(row.medium_days)
        )
    absent = {
        kind
        for kind, has in ((POLICIES, row.has_policies), (ARRIVALS, row.has_arrivals))
        if not has
    }
    return thresholds, RuleSettings.from_overrides(dict(row._mapping)), absent


def read_batch_inputs(
    session: Session,
    *,
    customer_id: str,
    skus: Sequence[Sku] = (),
    today: dt.date,
    kinds: Collection[str] = (POLICIES, ARRIVALS, HISTORY),
    screen: bool = True,
    span: SkuSpan | None = None,
    limit: int | None = None,
    stockout: bool = False,
) -> BatchInputs:
    """Read the inputs of ``skus`` (or of the SKUs in ``span``) in bulk: settings, stock
    and forecast, and ``kinds``.

    SKUs without an inventory row are returned as unknown and have no inputs. A kind the
    customer has no row of at all is not read. The history rules that the history pre-screen
    proves quiet for a SKU are listed in its ``settled`` instead of reading its days
    (``screen=False``: never; every SKU's days are read). Of a span, at most ``limit`` SKUs
    are read (the first ones); the keys after them come back as ``rest``. With
    ``stockout`` (the stockout rule will judge them), a span's SKUs that its SQL pre-screen
    finds far from a stockout come back as ``quiet`` alone (a customer without policies).
    """
    thresholds, settings, absent = _read_settings(session, customer_id)
    since = today - dt.timedelta(days=settings.history_days)
    # The stock read sends each SKU's forecasts for the history window's days (none without
    # the history kind: a window from today holds no day).
    window = since if HISTORY in kinds else today
    keys: dict[str, Any] = {"customer_id": customer_id, "today": today}
    rest = None
    quiet: list[Sku] = []
    prepare = runs_prepared(len(skus), by_span=span is not None)
    # Of a span: its bounds, cut at the last key read when it holds more than ``limit``.
    bounds: dict[str, Any] = {}
    if span is None:
        keys["stores"] = array_literal([sku.store_id for sku in skus])
        keys["products"] = array_literal([sku.product_id for sku in skus])
        by_key = execute_prepared(
            session, READ_STOCK, {**keys, "since": window}, prepare=prepare
        ).all()
    else:
        after = span.after or Sku("", "")
        most = limit if limit is not None else 2**31 - 2
        bounds = {
            **keys,
            "after_store": after.store_id,
            "after_product": after.product_id,
            "last_store": span.last.store_id,
            "last_product": span.last.product_id,
        }
        page = span_rows(
            session.execute(
                READ_SPAN,
                {
                    **bounds,
                    "limit": most + 1,
                    "quiet": stockout and (POLICIES not in kinds or POLICIES in absent),
                    "walked": math.floor(thresholds.medium_days) + 1,
                    "min_demand": MIN_DAILY_DEMAND,
                    "has_arrivals": ARRIVALS in kinds and ARRIVALS not in absent,
                    "since": window,
                },
            ).one(),
            width=(today - window).days,
        )
        if len(page.skus) > most:
            page = page.cut(most)
            last = page.skus[-1]
            bounds["last_store"], bounds["last_product"] = last
            rest = SkuSpan(last, span.last)
        quiet = list(itertools.compress(page.skus, page.quiet))
    found: dict[Sku, SkuInputs] = {}
    # The SKUs with forecasts before today (the history rules compare sales with them).
    with_past: set[Sku] = set()
    # Each SKU's row in ``past``: its forecasts for the window's days.
    row_of: dict[Sku, int] = {}
    if span is None:
        for n, (store, product, on_hand, on_order, lead, demands, has_past, *_) in enumerate(
            by_key
        ):
            sku = Sku(store, product)
            entry = found[sku] = SkuInputs(sku, float(on_hand), float(on_order))
            row_of[sku] = n
            if demands:
                entry.demand = horizon_series(lead, demands)
            if has_past:
                with_past.add(sku)
        past = PastForecasts.from_rows(
            [(row.past_first, row.past) for row in by_key], width=(today - window).days
        )
    else:
        columns = (page.skus, page.on_hand, page.on_order, page.demands, page.has_past)
        for n, (sku, on_hand, on_order, demand, has_past, screened) in enumerate(
            zip(*columns, page.quiet, strict=True)
        ):
            if not screened:  # (a quiet SKU: the SQL pre-screen judged its stock)
                found[sku] = SkuInputs(sku, on_hand, on_order, demand)
                row_of[sku] = n
                if has_past:
                    with_past.add(sku)
        past = page.past
    if span is not None and ARRIVALS in kinds and ARRIVALS not in absent:
        # The arrivals read looks up the SKUs found, by key (the others read the span).
        keys["stores"] = array_literal([sku.store_id for sku in found])
        keys["products"] = array_literal([sku.product_id for sku in found])
    if POLICIES in kinds and POLICIES not in absent:
        policies = (
            execute_prepared(session, READ_POLICIES, keys, prepare=prepare)
            if span is None
            else session.execute(READ_SPAN_POLICIES, bounds)
        ).all()  # (one fetch, not a driver call per row)
        # Policies are immutable and often alike: one object per distinct policy.
        alike: dict[tuple[Any, ...], Policy] = {}
        for row in policies:
            # (a Sku is a named tuple: the row's plain (store, product) finds it)
            if (item := found.get(row[:2])) is not None:  # type: ignore[call-overload]
                values = row[2:8]
                if (policy := alike.get(values)) is None:
                    policy = alike[values] = Policy(
                        lead_time_days=float(row[2]),
                        reorder_point=_optional(row[3]),
                        order_up_to=_optional(row[4]),
                        case_pack=_optional(row[5]),
                        min_order_qty=_optional(row[6]),
                        service_level=_optional(row[7]),
                    )
                item.policy = policy
    if ARRIVALS in kinds and ARRIVALS not in absent:
        arrivals = execute_prepared(session, READ_ARRIVALS, keys, prepare=prepare)
        for store, product, dates, quantities in arrivals:
            if (item := found.get(Sku(store, product))) is not None:
                item.arrivals = [0.0] * ((dates[-1] - today).days + 1)
                for day, quantity in zip(dates, quantities, strict=True):
                    item.arrivals[(day - today).days] = float(quantity)
    items = list(found.values())
    # The demand from today of every SKU found, as one matrix: for the stockout screen of
    # the batch and the reorder σ bounds.
    demand, counts = demand_matrix([item.demand for item in items])
    if stockout:
        far = outlast(
            on_hand=np.array([item.on_hand for item in items], dtype=float),
            demand=demand,
            counts=counts,
            days=thresholds.medium_days,
        )
        for n in np.flatnonzero(far).tolist():
            items[n].far = not items[n].arrivals  # (lasts_beyond: never with arrivals)
    # History only for SKUs a rule can judge from it: with a policy (reorder, every day) or
    # with forecasts before today (anomaly, accuracy); a batch with none skips the read.
    wanted = [n for n, item in enumerate(items) if item.policy is not None or item.sku in with_past]
    if HISTORY in kinds and wanted:
        _read_history(
            session,
            keys,
            [items[n] for n in wanted],
            (demand[wanted], counts[wanted]),
            past.rows([row_of[items[n].sku] for n in wanted]),
            since=since,
            settings=settings,
            screen=screen,
            prepare=prepare,
        )
    return BatchInputs(
        thresholds=thresholds,
        settings=settings,
        skus=items,
        unknown=[sku for sku in skus if sku not in found],
        rest=rest,
        quiet=quiet,
    )


def _read_history(
    session: Session,
    keys: dict[str, Any],
    items: list[SkuInputs],
    matrix: tuple[np.ndarray, np.ndarray],
    past: PastForecasts,
    *,
    since: dt.date,
    settings: RuleSettings,
    screen: bool,
    prepare: bool,
) -> None:
    """Fill in the history of ``items``: the days, or the rules the pre-screen settled.
    ``matrix``: their demand from today (:func:`demand_matrix`); ``past``: their forecasts
    for the window's days."""
    skus = [item.sku for item in items]
    # The reorder rule reads the history of SKUs with a policy without its own reorder
    # point and with a forecast from today: their σ bounds, all at once (NaN: no bound).
    reorder = [
        (n, item.policy)
        for n, item in enumerate(items)
        if item.policy is not None and item.policy.reorder_point is None and item.demand
    ]
    reorder_sigma = np.full(len(items), np.nan)
    if reorder:
        at = [n for n, _ in reorder]
        reorder_sigma[at] = reorder_sigma_bounds(
            position=np.array([items[n].on_hand + items[n].effective_on_order for n in at]),
            lead_time=np.array([policy.lead_time_days for _, policy in reorder], dtype=float),
            service_level=np.array(
                [policy.service_level or settings.service_level for _, policy in reorder],
                dtype=float,
            ),
            demand=matrix[0][at],
            counts=matrix[1][at],
        )
    reorder_read = np.zeros(len(items), dtype=bool)
    reorder_read[[n for n, _ in reorder]] = True
    reads = reorder_read.tolist()
    # (a handful of distinct sets, made once: (anomaly, accuracy, reorder) -> the set)
    settled_sets = {
        flags: frozenset(kind for kind, flag in zip(_SETTLED_ORDER, flags, strict=True) if flag)
        for flags in itertools.product((False, True), repeat=3)
    }
    for n, accuracy, anomaly, reorder_unsure, days in read_history(
        session,
        keys,
        since=since,
        settings=settings,
        skus=skus,
        past=past,
        every_day=[item.policy is not None for item in items],
        reorder_sigma=reorder_sigma,
        screen=screen,
        prepare=prepare,
    ):
        item = items[n]
        if days is not None:
            item.history = days
        item.settled = settled_sets[anomaly, accuracy, reads[n] and not reorder_unsure]


#: The history rules a pre-screen verdict may settle, in the order of its flags.
_SETTLED_ORDER = (ANOMALY_DETECTED, FORECAST_ACCURACY_LOW, REORDER_RECOMMENDED)


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)
