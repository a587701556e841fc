"""The history pre-screen: which SKUs surely get no anomaly, accuracy or reorder finding.

A sweep with history judges every SKU by three rules, and almost all of them are quiet. The
batch read (:mod:`shelfops_alerts.detect.history_inputs`) lays out a batch's sales of the
window (its own statement) and the forecasts stored for those days (sent by the stock read,
:mod:`shelfops_alerts.detect.past_forecasts`) as numpy matrices, and
:func:`screen_history` works out every SKU's history statistics at once with numpy — counts,
sums, the root mean square error, a bound on the anomaly score, and only where that bound
fails the exact median and MAD of past residuals. A SKU's days become ``SalesDay`` objects
for the rules only when those statistics say a rule *could* find something; the others are
judged "no finding" without running the rules.

The statistics are not bit-identical to the rules' (numpy sums pairwise, the rules in day
order), so every comparison keeps a margin of :data:`MARGIN` relative to the magnitudes
involved — a million times the worst rounding difference of a month of sums — and only ever
answers "unsure" inside it: a SKU near a threshold, or with a NaN, infinite or huge value
(above :data:`LARGEST_SCREENED`), goes to the rules, which decide as they always did. So
the findings are exactly the rules' own.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from shelfops_alerts.detect.rules.anomaly import MAD_TO_SIGMA, RECENT_DAYS
from shelfops_alerts.detect.rules.reorder import Policy, z_score
from shelfops_alerts.detect.rules.rule_settings import RuleSettings
from shelfops_alerts.detect.rules.stockout import LASTS_BEYOND_MARGIN, MIN_DAILY_DEMAND

#: Relative margin of every screen comparison (see the module docstring). Float sums of 28
#: days differ by at most about 28 · 2⁻⁵³ ≈ 3e-15 of their magnitude; 1e-9 is far beyond.
MARGIN = 1e-9
#: "Always send this SKU's days to the rules" (no σ is below it).
ALWAYS = -math.inf
#: Values are capped at this in the statistics (a SKU with a larger one, or a NaN or an
#: infinity, is not ``finite`` and goes to the rules): squares and sums of a month of capped
#: values stay far from overflowing.
LARGEST_SCREENED = 1e150


#: The longest horizon (days of forecast from today) the batch screens take: a batch's
#: demand matrix stays a few MB (5,000 SKUs × 120 days × 8 bytes: 4.8 MB).
MATRIX_DAYS = 120
#: Lead times longer than this many days are not screened (their SKUs go to the rule): the
#: rule's lead-time demand adds a day at a time, and the margin covers the rounding of sums
#: far longer than any lead time, not of any length.
LONGEST_SCREENED_LEAD = 10_000


def reorder_sigma_bound(
    *,
    on_hand: float,
    on_order: float,
    daily_demand: Sequence[float],
    policy: Policy,
    settings: RuleSettings,
) -> float | None:
    """The σ of daily demand below which :func:`check_reorder` surely finds nothing.

    None when the rule does not use the history at all (the policy gives its reorder point);
    :data:`ALWAYS` when no σ can keep it quiet or the inputs are unusual (the rule decides).
    One SKU's :func:`reorder_sigma_bounds`.
    """
    if policy.reorder_point is not None:
        return None
    matrix, counts = demand_matrix([daily_demand])
    (bound,) = reorder_sigma_bounds(
        position=np.array([on_hand + on_order], dtype=float),
        lead_time=np.array([policy.lead_time_days], dtype=float),
        service_level=np.array([policy.service_level or settings.service_level], dtype=float),
        demand=matrix,
        counts=counts,
    ).tolist()
    return float(bound)


def demand_matrix(demands: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Each SKU's forecast demand from today as a row (zeros after its last day), and how
    many days each has. A horizon longer than :data:`MATRIX_DAYS` is left out (an empty
    row, 0 days: the batch screens leave that SKU to the per-SKU tests and the rules)."""
    lengths = np.fromiter(map(len, demands), dtype=np.int64, count=len(demands))
    counts = np.where(lengths <= MATRIX_DAYS, lengths, 0)
    values = np.fromiter(
        itertools.chain.from_iterable(demands), dtype=float, count=int(lengths.sum())
    )
    if (counts != lengths).any():
        values = values[np.repeat(counts == lengths, lengths)]
    width = max(int(counts.max(initial=0)), 1)
    if len(values) == len(demands) * width:
        # Every horizon as long (the common case): the values are the matrix, row by row.
        return values.reshape(len(demands), width), counts
    matrix = np.zeros((len(demands), width))
    # Each row's first ``count`` cells, row by row: the values' own order.
    matrix[np.arange(width) < counts[:, None]] = values
    return matrix, counts


def reorder_sigma_bounds(
    *,
    position: np.ndarray,
    lead_time: np.ndarray,
    service_level: np.ndarray,
    demand: np.ndarray,
    counts: np.ndarray,
) -> np.ndarray:
    """Per SKU of a batch (each with a policy without its own reorder point, and a forecast
    from today: ``counts`` > 0), the σ of daily demand below which :func:`check_reorder`
    surely finds nothing; :data:`ALWAYS` when no σ can keep it quiet or the inputs are
    unusual (the rule decides).

    ``position``: on hand plus on order; ``lead_time`` and ``service_level`` (the
    customer's where the policy gives none) of the SKU's policy; ``demand`` and ``counts``:
    :func:`demand_matrix`. The rule finds nothing when ``position > LTD + z · σ ·
    sqrt(lead time)``; with the margin, σ below ``(position − LTD − margin) / (z ·
    sqrt(lead time))`` guarantees it. LTD (lead-time demand) is summed as
    :func:`lead_time_demand` does, in numpy's order: the margin covers the difference.
    """
    bound = np.full(len(position), ALWAYS)
    with np.errstate(all="ignore"):
        usable = (
            np.isfinite(lead_time)
            & (lead_time >= 0)
            & (lead_time <= LONGEST_SCREENED_LEAD)
            & (np.abs(position) < LARGEST_SCREENED)
            & (service_level >= 0.5)
            & (service_level < 1)
            & (counts > 0)
        )
        rows = np.flatnonzero(usable)
        if not len(rows):
            return bound
        lead, days, demand = lead_time[rows], counts[rows], demand[rows]
        whole = np.floor(lead).astype(np.int64)
        last = demand[np.arange(len(rows)), days - 1]
        # The first ``whole`` days, then (past the horizon) the last day repeated, then the
        # fraction of the day after.
        head = np.where(np.arange(demand.shape[1]) < np.minimum(whole, days)[:, None], demand, 0)
        beyond = np.where(whole > days, (whole - days) * last, 0.0)
        after = np.where(
            whole < days, demand[np.arange(len(rows)), np.minimum(whole, days - 1)], last
        )
        ltd = head.sum(axis=1) + beyond + (lead - whole) * after
        at = position[rows]
        room = at - ltd - MARGIN * (np.abs(at) + np.abs(ltd) + 1)
        # (a batch holds a few service levels: each one's z once)
        levels, which = np.unique(service_level[rows], return_inverse=True)
        z = np.array([z_score(level) for level in levels.tolist()])[which]
        spread = z * np.sqrt(lead)
        found = np.where(
            spread <= 0,
            np.where(room > 0, math.inf, ALWAYS),
            np.where(room > 0, room / np.where(spread > 0, spread, 1.0), ALWAYS),
        )
        # Unusual sums (a NaN, an infinite or huge demand) go to the rule.
        bound[rows] = np.where(np.abs(ltd) < LARGEST_SCREENED, found, ALWAYS)
    return bound


def outlast(
    *, on_hand: np.ndarray, demand: np.ndarray, counts: np.ndarray, days: float
) -> np.ndarray:
    """Per SKU of a batch without arrivals: whether :func:`lasts_beyond` surely holds (the
    stock on hand outlasts ``days``: the stockout rule with ``days`` as its medium
    threshold finds nothing); ``demand`` and ``counts``: :func:`demand_matrix`.

    The same test, summed in numpy's order, with twice its margin, so it is true only where
    :func:`lasts_beyond` is (a false one leaves the SKU to it); unusual values (a NaN,
    negative, infinite or huge demand or stock) make it false.
    """
    walked = math.floor(days) + 1
    columns = np.arange(demand.shape[1])
    held = columns < counts[:, None]
    rows = np.arange(len(counts))
    with np.errstate(all="ignore"):
        plain = ~(held & ~((demand >= 0) & (demand < LARGEST_SCREENED))).any(axis=1)
        last = demand[rows, np.maximum(counts - 1, 0)]
        head = np.where(columns < np.minimum(walked, counts)[:, None], demand, 0.0).sum(axis=1)
        need = head + np.maximum(walked - counts, 0) * last + walked * MIN_DAILY_DEMAND
        return (
            (counts > 0)
            & plain
            & (on_hand >= 0)
            & (on_hand < LARGEST_SCREENED)
            & (on_hand > need * (1 + 2 * LASTS_BEYOND_MARGIN))
        )


class HistoryScreen(NamedTuple):
    """Per SKU of a batch (arrays of one value each): what :func:`screen_history` found."""

    #: Whether the SKU has a day the rules read (sales, and a forecast or a policy).
    kept: np.ndarray
    #: Whether a rule could find something: its days go to the rules.
    needs_rules: np.ndarray
    #: Whether the accuracy rule, and the anomaly rule, can judge the SKU at all.
    accuracy_judged: np.ndarray
    anomaly_judged: np.ndarray
    #: Rule by rule, whether it could find something (``needs_rules`` is any of them): the
    #: others, the screen settles even for a SKU whose days go to the rules.
    accuracy_needs: np.ndarray
    anomaly_needs: np.ndarray
    reorder_needs: np.ndarray


def screen_history(
    sold: np.ndarray,
    units: np.ndarray,
    forecast: np.ndarray,
    has_forecast: np.ndarray,
    *,
    every_day: np.ndarray,
    reorder_sigma: np.ndarray,
    settings: RuleSettings,
    screen: bool = True,
) -> HistoryScreen:
    """Screen a batch's history window at once: row ``i``, column ``d`` is SKU ``i`` on the
    window's day ``d`` (the last column is yesterday).

    ``sold``/``units``: whether the day has sales and how many (0 where none);
    ``forecast``/``has_forecast`` likewise for the forecast stored for the day;
    ``every_day``: the SKU has a policy (the reorder rule reads days without a forecast);
    ``reorder_sigma``: :func:`reorder_sigma_bound`, NaN where the rule reads no history.
    ``screen=False`` sends every kept SKU to the rules.
    """
    width = sold.shape[1]
    judged = sold & has_forecast
    kept = (sold & (every_day[:, None] | has_forecast)).any(axis=1)
    with np.errstate(all="ignore"):
        stats = _statistics(judged, units, forecast, settings.phantom_days)
        n, last_day = stats["n"], stats["last_day"]
        accuracy_judged = n >= settings.min_history_days
        day_judged = (n > 0) & (last_day >= width - RECENT_DAYS)
        day_judged &= n - 1 >= settings.min_history_days
        anomaly_judged = (stats["recent"] == settings.phantom_days) | day_judged
        if not screen:
            return HistoryScreen(
                kept, kept.copy(), accuracy_judged, anomaly_judged, kept, kept, kept
            )
        reorder = _reorder_unsure(stats, reorder_sigma, settings) & kept
        accuracy = accuracy_judged & ~_accuracy_quiet(stats, settings) & kept
        anomaly = stats["recent_zero"] == settings.phantom_days
        quiet = _anomaly_bound_quiet(stats, settings)
        # Only where the bound fails (and the anomaly rule is not sent the SKU already): the
        # exact median and MAD of the earlier days' residuals.
        exact = day_judged & ~anomaly & ~quiet & stats["finite"] & (n > 1)
        quiet[exact] = _anomaly_exact_quiet(judged, units, forecast, stats, exact, settings)
        anomaly |= day_judged & ~(stats["finite"] & quiet)
        anomaly &= kept
    return HistoryScreen(
        kept,
        reorder | accuracy | anomaly,
        accuracy_judged,
        anomaly_judged,
        accuracy,
        anomaly,
        reorder,
    )


def _statistics(
    judged: np.ndarray, units: np.ndarray, forecast: np.ndarray, phantom_days: int
) -> dict[str, np.ndarray]:
    """Counts and sums over each SKU's days with sales and a forecast (capped values)."""
    width = judged.shape[1]
    columns = np.arange(width)
    capped_units = np.minimum(units, LARGEST_SCREENED)  # (NaN stays NaN: not finite)
    capped_forecast = np.minimum(forecast, LARGEST_SCREENED)
    error = np.where(judged, capped_units - capped_forecast, 0.0)
    recent = judged & (columns >= width - phantom_days)
    n = judged.sum(axis=1)
    last_day = np.where(judged, columns, -1).max(axis=1)
    rows, at = np.arange(len(n)), np.maximum(last_day, 0)
    actual = np.where(judged, capped_units, 0.0).sum(axis=1)
    abs_error = np.abs(error).sum(axis=1)
    square_error = (error * error).sum(axis=1)
    last_units, last_forecast = capped_units[rows, at], capped_forecast[rows, at]
    residual = last_units - last_forecast
    before = n - 1.0
    base_mean = (error.sum(axis=1) - residual) / before
    base_sigma = np.sqrt(
        np.maximum((square_error - residual**2) / before - base_mean**2, 0.0)
        + MARGIN * (square_error / before + 1)
    )
    return {
        "n": n,
        "last_day": last_day,
        "recent": recent.sum(axis=1),
        "recent_zero": (recent & (units == 0)).sum(axis=1),
        "actual": actual,
        "abs_error": abs_error,
        "square_error": square_error,
        "last_units": last_units,
        "last_forecast": last_forecast,
        "residual": residual,
        "base_mean": base_mean,
        "base_sigma": base_sigma,
        # Any NaN, infinity or value above the cap makes this false: such SKUs go to the
        # rules (every |residual|, units and forecast is at most actual + abs_error).
        "finite": actual + abs_error < LARGEST_SCREENED,
        "slack": MARGIN * (2 * (actual + abs_error) + 1),
    }


def _reorder_unsure(
    stats: dict[str, np.ndarray], reorder_sigma: np.ndarray, settings: RuleSettings
) -> np.ndarray:
    """The reorder rule reads the history, and its σ (root mean square of the residuals)
    is not surely below the bound."""
    n = stats["n"]
    sigma = np.sqrt(stats["square_error"] / np.maximum(n, 1)) * (1 + MARGIN)
    quiet = (n >= max(settings.min_history_days, 1)) & stats["finite"] & (sigma < reorder_sigma)
    return ~np.isnan(reorder_sigma) & ~quiet


def _accuracy_quiet(stats: dict[str, np.ndarray], settings: RuleSettings) -> np.ndarray:
    """Surely too slow to judge, or surely within the WAPE."""
    actual, abs_error = stats["actual"], stats["abs_error"]
    low = actual - MARGIN * (actual + 1)
    slow = actual + MARGIN * (actual + 1) < settings.accuracy_min_units
    within = (low > 0) & (
        abs_error + MARGIN * (abs_error + 1) <= settings.accuracy_wape * (1 - MARGIN) * low
    )
    return stats["finite"] & (slow | within)


def _anomaly_bound_quiet(stats: dict[str, np.ndarray], settings: RuleSettings) -> np.ndarray:
    """The judged day sold and expected too little, or is surely within the score by the
    bound |residual − median| ≤ |residual − mean| + σ (true of any set of numbers) and the
    scale's floor √forecast."""
    slack, last_forecast = stats["slack"], stats["last_forecast"]
    small = np.maximum(stats["last_units"], last_forecast) < settings.anomaly_min_units
    bound = np.abs(stats["residual"] - stats["base_mean"]) + stats["base_sigma"] + slack
    floor = np.sqrt(np.maximum(last_forecast, 1.0)) - 2 * slack
    return small | ((stats["n"] > 1) & (bound < settings.anomaly_z * (1 - MARGIN) * floor))


def _anomaly_exact_quiet(
    judged: np.ndarray,
    units: np.ndarray,
    forecast: np.ndarray,
    stats: dict[str, np.ndarray],
    rows: np.ndarray,
    settings: RuleSettings,
) -> np.ndarray:
    """For ``rows``: the judged day surely within the score by the exact median and MAD of
    the earlier days' residuals (NaN marks the days that are not among them)."""
    width = judged.shape[1]
    earlier = judged[rows] & (np.arange(width) < stats["last_day"][rows, None])
    errors = np.where(earlier, units[rows] - forecast[rows], np.nan)
    centre = row_medians(errors)
    mad = row_medians(np.abs(errors - centre[:, None]))
    slack, last_forecast = stats["slack"][rows], stats["last_forecast"][rows]
    scale = np.maximum(MAD_TO_SIGMA * mad, np.sqrt(np.maximum(last_forecast, 1.0)))
    bound = np.abs(stats["residual"][rows] - centre) + slack
    return bound < settings.anomaly_z * (1 - MARGIN) * (scale - 2 * slack)


def row_medians(values: np.ndarray) -> np.ndarray:
    """The median of each row's values that are not NaN (every row has one at least): what
    ``np.nanmedian(values, axis=1)`` gives, by one sort of the rows (NaN sorts last)
    instead of its masked arrays, several times slower on a batch's short rows."""
    ordered = np.sort(values, axis=1)
    count = (~np.isnan(values)).sum(axis=1)
    rows = np.arange(len(values))
    return (ordered[rows, (count - 1) // 2] + ordered[rows, count // 2]) / 2
