"""A sweep's page comes back as one row of binary arrays; read, it gives each SKU what the
earlier read's row gave it (its stock, and ``horizon_series`` of its lead and days)."""

import math
import random
import struct
from types import SimpleNamespace

from shelfops_alerts.detect.rules.forecast_series import horizon_series
from shelfops_alerts.detect.span_read import span_rows
from shelfops_alerts.skus import Sku


def binary(fmt, values):
    """``substr(array_send(array), 21)``: per element its length, then its value."""
    size = struct.calcsize(">" + fmt)
    return b"".join(struct.pack(">i" + fmt, size, value) for value in values)


def sent(rows, order=None):
    """The one row READ_SPAN answers for ``rows`` — (store, product, on hand, on order,
    lead, days with None for a day without forecast, has_past, quiet, and optionally the
    past run: (first day in the window, days)) in key order — the aggregates reading them in
    ``order`` (default: key order)."""
    order = list(range(len(rows))) if order is None else order
    picked = [rows[n] for n in order]
    days = [[-math.inf if v is None else v for v in row[5]] for row in picked if not row[7]]
    runs = [row[8] if len(row) > 8 else (0, []) for row in picked]
    return SimpleNamespace(
        stores=[row[0] for row in picked],
        products=[row[1] for row in picked],
        positions=binary("i", order),
        on_hand=binary("d", [row[2] for row in picked]),
        on_order=binary("d", [row[3] for row in picked]),
        leads=binary("i", [row[4] for row in picked]),
        has_past=binary("?", [row[6] for row in picked]),
        quiet=binary("?", [row[7] for row in picked]),
        counts=binary("i", [0 if row[7] else len(row[5]) for row in picked]),
        demands=b"".join(binary("d", d) for d in days) or None,
        past_first=binary("i", [first for first, _ in runs]),
        past_counts=binary("i", [len(run) for _, run in runs]),
        past=b"".join(binary("d", [-math.inf if v is None else v for v in run]) for _, run in runs)
        or None,
    )


#: The history window's days the page's past runs lay out on.
WIDTH = 6

ROWS = [
    ("S1", "P1", 10.0, 0.0, 0, [1.0, 2.0, 3.0], True, False, (2, [4.0, None, 5.0, 6.0])),
    ("S1", "P2", 5.0, 2.0, 2, [4.0, 5.0], False, False),  # starts in two days
    ("S1", "P3", 7.0, 0.0, 0, [1.0, None, None, 6.0], False, False),  # gaps carried
    ("S1", "P4", 0.0, 0.0, 0, [], False, False),  # no forecast from today
    ("S1", "P5", 900.0, 0.0, 0, [], False, True),  # quiet: judged by the SQL screen
    ("S2", "P1", math.nan, math.inf, 1, [math.nan, None, 2.0], True, False, (0, [math.nan, 1.0])),
]


def test_each_sku_gets_what_its_row_gave():
    # Given a page as the span read sends it
    # When it is read
    page = span_rows(sent(ROWS), width=WIDTH)
    # Then each SKU's stock, flags and days are those of the per-row read, in key order
    assert page.skus == [Sku(row[0], row[1]) for row in ROWS]
    assert page.on_order == [row[3] for row in ROWS]
    assert page.has_past == [row[6] for row in ROWS]
    assert page.quiet == [row[7] for row in ROWS]
    for got, row in zip(page.demands, ROWS, strict=True):
        expected = horizon_series(row[4], row[5]) if row[5] and not row[7] else []
        assert repr(got) == repr(expected)  # (NaN included)
    assert repr(page.on_hand) == repr([row[2] for row in ROWS])


def test_each_sku_gets_its_past_forecasts_on_their_days():
    # Given a page whose SKUs with forecasts before today sent their runs for the window
    # When it is read
    page = span_rows(sent(ROWS), width=WIDTH)
    # Then each run lies on its days from its first, a gap (None) without a forecast, and
    # the SKUs without a run have none
    assert page.past.has_forecast.tolist() == [
        [False, False, True, False, True, True],
        *[[False] * WIDTH] * 4,
        [True, True, False, False, False, False],
    ]
    assert page.past.forecast[0, [2, 4, 5]].tolist() == [4.0, 5.0, 6.0]
    assert math.isnan(page.past.forecast[5, 0]) and page.past.forecast[5, 1] == 1.0
    # And cut, the page keeps the first SKUs' rows
    assert page.cut(2).past.has_forecast.tolist() == page.past.has_forecast[:2].tolist()


def test_rows_aggregated_out_of_key_order_come_back_in_key_order():
    # Given the aggregates read the rows in another order than the keys'
    order = [3, 0, 5, 1, 4, 2]
    # When the page is read
    page = span_rows(sent(ROWS, order), width=WIDTH)
    # Then it is the same page as in key order
    assert repr(page) == repr(span_rows(sent(ROWS), width=WIDTH))


def test_random_horizons_match_the_per_sku_walk():
    # Given many SKUs with random leads and gaps
    rng = random.Random(12)
    rows = []
    for n in range(300):
        days = [rng.choice([None, rng.uniform(0, 50)]) for _ in range(rng.randrange(0, 20))]
        if days and days[-1] is None:
            days[-1] = 1.0  # (a horizon ends on its last forecast day)
        rows.append(("S", f"P{n:03}", 1.0, 0.0, rng.choice([0, 0, 1, 3]), days, False, False))
    # When the page is read, Then each SKU's days are horizon_series of its row
    page = span_rows(sent(rows), width=WIDTH)
    for got, row in zip(page.demands, rows, strict=True):
        assert got == (horizon_series(row[4], row[5]) if row[5] else [])


def test_an_empty_page_has_no_skus():
    # Given a span with no key: every aggregate is NULL
    nothing = SimpleNamespace(stores=None, products=None)
    # When read, Then it holds no SKU
    assert span_rows(nothing, width=WIDTH).skus == []
