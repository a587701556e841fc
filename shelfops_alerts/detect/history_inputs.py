"""Reading a batch's recent past: one statement that screens in SQL what the rules would judge.

Per SKU, the statement gathers the days of the history window that have sales (with the
forecast stored for each day, an element of the SKU's horizon row), works out the
statistics of the history pre-screen (:mod:`shelfops_alerts.detect.rules.screen`) and
returns the days themselves only for a SKU that a rule could find something for. For the
others it returns which history rules can judge them at all, and the check records those
rules as judged with no finding — what they would have returned.

Only days with sales count: a day with a forecast but no sales recorded is unknown, not
zero. Anomaly and accuracy judge only days that have a forecast too; only the reorder rule
(a SKU with a policy, ``every_day``) uses days without one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from shelfops_alerts.db import array_literal
from shelfops_alerts.detect.rules import RuleSettings, SalesDay
from shelfops_alerts.detect.rules.anomaly import MAD_TO_SIGMA, RECENT_DAYS
from shelfops_alerts.detect.rules.screen import MARGIN
from shelfops_alerts.skus import Sku

#: Values are capped at this in the statistics (a SKU with a larger one, or a NaN or an
#: infinity, is not ``finite`` and goes to the rules): squares and sums of a month of capped
#: values cannot overflow (PostgreSQL raises an error on a float overflow, failing the batch).
LARGEST_SCREENED = 1e150

_SAME_SKU = (
    "{t}.customer_id = :customer_id AND {t}.store_id = k.store_id AND {t}.product_id = k.product_id"
)

# Inside out, one level per subquery (``OFFSET 0`` keeps each from being flattened into the
# next, so an expression used several times is computed once per SKU):
#   x  per SKU, one pass over its sales rows in the window (days as offsets from ``:since``,
#      ``:today_offset`` is today's): the days as arrays, and the sums and counts of the
#      screen over the days with a forecast (``t.f IS NOT NULL``);
#   r  the latest day with a forecast (the anomaly rule's judged day), the mean and σ of
#      the earlier days' residuals, whether every value is finite, and the margin ``slack``;
#   q  whether a rule could find something (``needs_rules``), and which can judge at all;
#      only then are the days sent.
# ``finite``: PostgreSQL orders NaN above every number and calls it equal to itself, so a
# screen comparison with a NaN or an infinity could say "quiet": such a SKU goes to the rules.
# Units and forecasts are >= 0 (or NaN: the tables' checks); in the sums they are capped at
# ``:largest``, so a capped value makes Σ units + Σ |residual| reach it, and a NaN forecast
# makes that NaN: either way not below ``:largest``, so not finite.
# The anomaly screen first bounds |residual − median| by |residual − mean| + σ (true of any
# set of numbers) and the scale by √forecast; only a SKU that fails that bound pays for the
# exact median and MAD (two sorts of its residuals).
_READ_HISTORY = text(
    f"""
    SELECT q.store_id, q.product_id, q.accuracy_judged, q.anomaly_judged,
           CASE WHEN q.needs_rules THEN q.days END AS days,
           CASE WHEN q.needs_rules THEN q.units END AS units,
           CASE WHEN q.needs_rules THEN q.forecasts END AS forecasts
    FROM (
    SELECT r.store_id, r.product_id, r.days, r.units, r.forecasts,
           r.n >= :min_days AS accuracy_judged,
           r.recent = :phantom_days OR r.day_judged AS anomaly_judged,
           NOT :screen OR (
            -- reorder: its σ (root mean square of the residuals) not surely below the bound
            -- (``finite`` said, not left to how PostgreSQL orders a NaN σ)
            r.reorder_sigma IS NOT NULL AND NOT coalesce(
                r.n >= greatest(:min_days, 1) AND r.finite
                AND sqrt(r.square_error / nullif(r.n, 0)) * (1 + :margin) < r.reorder_sigma,
                false)
           ) OR (
            -- accuracy: judged, and neither surely too slow nor surely within the WAPE
            r.n >= :min_days AND NOT coalesce(r.finite AND (
                r.actual + :margin * (r.actual + 1) < :accuracy_min_units
                OR (r.actual - :margin * (r.actual + 1) > 0
                    AND r.abs_error + :margin * (r.abs_error + 1)
                        <= :accuracy_wape * (1 - :margin)
                           * (r.actual - :margin * (r.actual + 1)))), false)
           ) OR (
            -- anomaly: phantom inventory possible (each recent day present, and zero)...
            r.recent_zero = :phantom_days
            -- ...or a judged day neither surely too small nor surely within the score
            OR (r.day_judged AND NOT coalesce(r.finite AND (
                greatest(r.last_units, r.last_forecast) < :anomaly_min_units
                OR abs(r.residual - r.base_mean) + r.base_sigma + r.slack
                   < :anomaly_z * (1 - :margin)
                     * (sqrt(greatest(r.last_forecast, 1)) - 2 * r.slack)
                OR (SELECT abs(r.residual - c.centre) + r.slack
                           < :anomaly_z * (1 - :margin)
                             * (greatest(:mad_to_sigma * percentile_cont(0.5) WITHIN GROUP
                                           (ORDER BY abs(t.u - t.f - c.centre)),
                                         sqrt(greatest(r.last_forecast, 1))) - 2 * r.slack)
                    FROM (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t.u - t.f)
                                     AS centre
                          FROM unnest(r.days, r.units, r.forecasts) AS t(d, u, f)
                          WHERE t.f IS NOT NULL AND t.d < r.last_day) c
                    CROSS JOIN unnest(r.days, r.units, r.forecasts) AS t(d, u, f)
                    WHERE t.f IS NOT NULL AND t.d < r.last_day
                    GROUP BY c.centre)), false))
           ) AS needs_rules
    FROM (
    SELECT x.*,
           x.last_units - x.last_forecast AS residual,
           (x.error - (x.last_units - x.last_forecast)) / nullif(x.n - 1, 0) AS base_mean,
           sqrt(greatest((x.square_error - (x.last_units - x.last_forecast) ^ 2)
                             / nullif(x.n - 1, 0)
                         - ((x.error - (x.last_units - x.last_forecast))
                            / nullif(x.n - 1, 0)) ^ 2, 0)
                + :margin * (x.square_error / nullif(x.n - 1, 0) + 1)) AS base_sigma,
           coalesce(x.last_day >= :today_offset - :recent_days AND x.n - 1 >= :min_days, false)
               AS day_judged,
           x.actual + x.abs_error < :largest AS finite,
           -- every |residual|, units and forecast is at most Σ units + Σ |residual|
           :margin * (2 * (x.actual + x.abs_error) + 1) AS slack
    FROM (
    SELECT k.store_id, k.product_id, k.reorder_sigma, x.*,
           least(x.units[array_position(x.days, x.last_day)], :largest) AS last_units,
           least(x.forecasts[array_position(x.days, x.last_day)], :largest) AS last_forecast
    FROM unnest(CAST(:stores AS text[]), CAST(:products AS text[]), CAST(:every_day AS bool[]),
                CAST(:reorder_sigma AS float8[]))
         AS k(store_id, product_id, every_day, reorder_sigma)
    LEFT JOIN LATERAL (SELECT start_date, demands FROM forecast_horizons h
                       WHERE {_SAME_SKU.format(t="h")} LIMIT 1) h ON true
    CROSS JOIN LATERAL (
        SELECT array_agg(t.d ORDER BY t.day) AS days,
               array_agg(t.u ORDER BY t.day) AS units,
               array_agg(t.f ORDER BY t.day) AS forecasts,
               max(t.d) FILTER (WHERE t.f IS NOT NULL) AS last_day,
               count(t.f) AS n,
               count(t.f) FILTER (WHERE t.d >= :today_offset - :phantom_days) AS recent,
               count(t.f) FILTER (WHERE t.d >= :today_offset - :phantom_days AND t.u = 0)
                   AS recent_zero,
               sum(t.su) FILTER (WHERE t.f IS NOT NULL) AS actual,
               sum(t.su - t.sf) AS error,
               sum(abs(t.su - t.sf)) AS abs_error,
               sum((t.su - t.sf) * (t.su - t.sf)) AS square_error
        FROM (SELECT s.sale_date AS day, s.sale_date - CAST(:since AS date) AS d,
                     s.units AS u, least(s.units, :largest) AS su,
                     h.demands[s.sale_date - h.start_date + 1] AS f,
                     -- (``+ 0 * f``: NULL stays NULL, which least() would not keep)
                     least(h.demands[s.sale_date - h.start_date + 1], :largest)
                         + 0 * h.demands[s.sale_date - h.start_date + 1] AS sf
              FROM sales s
              WHERE {_SAME_SKU.format(t="s")}
                AND s.sale_date >= :since AND s.sale_date < :today
              ORDER BY s.sale_date
              OFFSET 0) t
        WHERE k.every_day OR t.f IS NOT NULL
    ) x
    WHERE x.days IS NOT NULL
    OFFSET 0) x
    OFFSET 0) r
    OFFSET 0) q
    """
)


def read_history(
    session: Session,
    keys: dict[str, Any],
    *,
    since: dt.date,
    settings: RuleSettings,
    skus: Sequence[tuple[Sku, bool, float | None]],
    screen: bool = True,
) -> list[tuple[Sku, bool, bool, list[SalesDay] | None]]:
    """The recent past of ``skus``, each ``(sku, every_day, reorder_sigma)`` (the σ bound of
    :func:`shelfops_alerts.detect.rules.screen.reorder_sigma_bound`, None when the reorder
    rule does not read history).

    Returns ``(sku, accuracy_judged, anomaly_judged, days)`` for each SKU with sales in the
    window: ``days`` (oldest first) when a rule could find something, else None — then the
    rules the two flags name judge it with no finding. ``screen=False`` returns the days of
    every SKU (the reference the tests hold the screen to).
    """
    today = keys["today"]
    rows = session.execute(
        _READ_HISTORY,
        {
            **keys,
            "stores": array_literal([sku.store_id for sku, _, _ in skus]),
            "products": array_literal([sku.product_id for sku, _, _ in skus]),
            "every_day": array_literal([every_day for _, every_day, _ in skus]),
            "reorder_sigma": array_literal([sigma for _, _, sigma in skus]),
            "since": since,
            "today_offset": (today - since).days,
            "recent_days": RECENT_DAYS,
            "min_days": settings.min_history_days,
            "phantom_days": settings.phantom_days,
            "anomaly_z": settings.anomaly_z,
            "anomaly_min_units": settings.anomaly_min_units,
            "accuracy_wape": settings.accuracy_wape,
            "accuracy_min_units": settings.accuracy_min_units,
            "mad_to_sigma": MAD_TO_SIGMA,
            "margin": MARGIN,
            "screen": screen,
            "largest": LARGEST_SCREENED,
        },
    )
    # Days come as offsets from ``since`` and share these date objects: parsing a date per
    # sale row cost more than the rest of the row.
    window = [since + dt.timedelta(days=n) for n in range((today - since).days)]
    # (SalesDay._make is tuple.__new__: units and forecasts come as floats, or None for a
    # day without a forecast)
    make, day_of = SalesDay._make, window.__getitem__
    found: list[tuple[Sku, bool, bool, list[SalesDay] | None]] = []
    # (all rows at once: one fetch, not a driver call per row)
    for store, product, accuracy_judged, anomaly_judged, days, units, forecasts in rows.all():
        history = (
            None
            if days is None
            else list(map(make, zip(map(day_of, days), units, forecasts, strict=True)))
        )
        found.append((Sku(store, product), accuracy_judged, anomaly_judged, history))
    return found
