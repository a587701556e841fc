"""Synthetic SKUs for the benchmarks, loaded with COPY in chunks (with a progress bar).

Realistic enough to exercise every path: 500 products per store; demand levels mixed (30 %
slow movers at 0.2-2 units/day, 50 % at 2-20, 20 % fast at 20-200), a weekly pattern on a
14-day forecast, 28 days of sales (when the ``sales`` table exists), and stock for 7-60 days
of cover except a few percent at risk (under 3 days, some at zero).
"""

from __future__ import annotations

import datetime as dt
import io
import random
import time
from collections.abc import Callable

from sqlalchemy import Engine, text

from shelfops_alerts.cli.sweep import draw, progress_line

PRODUCTS_PER_STORE = 500
FORECAST_DAYS = 14
SALES_DAYS = 28
#: Share of SKUs whose stock lasts under 3 days (so they are alerted).
AT_RISK = 0.04
CHUNK = 20_000
WEEKLY = (1.0, 0.9, 0.9, 1.0, 1.1, 1.3, 1.2)


def _demand(rng: random.Random) -> float:
    draw_ = rng.random()
    if draw_ < 0.3:
        return rng.uniform(0.2, 2.0)
    if draw_ < 0.8:
        return rng.uniform(2.0, 20.0)
    return rng.uniform(20.0, 200.0)


def _on_hand(rng: random.Random, demand: float) -> float:
    if rng.random() < AT_RISK:
        return 0.0 if rng.random() < 0.1 else round(demand * rng.uniform(0.05, 2.95), 1)
    return round(demand * rng.uniform(7.0, 60.0), 1)


def has_table(engine: Engine, name: str) -> bool:
    with engine.connect() as connection:
        found = connection.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar()
    return found is not None


def load(
    engine: Engine,
    *,
    customer_id: str,
    skus: int,
    today: dt.date,
    seed: int = 5,
    past_days: int = 0,
    on_chunk: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """COPY ``skus`` SKUs with forecasts (and sales if that table exists); returns row counts.

    ``past_days`` adds the forecasts made for that many days before today (as a daily
    forecasting job leaves them): the anomaly and accuracy rules compare them with sales.
    """
    rng = random.Random(seed)
    with_sales = has_table(engine, "sales")
    counts = {"inventory": 0, "forecasts": 0, "sales": 0}
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for start in range(0, skus, CHUNK):
            inventory, forecasts, sales = io.StringIO(), io.StringIO(), io.StringIO()
            for n in range(start, min(start + CHUNK, skus)):
                store = f"ST{n // PRODUCTS_PER_STORE:05d}"
                product = f"PR{n % PRODUCTS_PER_STORE:04d}"
                key = f"{customer_id}\t{store}\t{product}"
                demand = _demand(rng)
                inventory.write(f"{key}\t{_on_hand(rng, demand)}\n")
                for day in range(-past_days, FORECAST_DAYS):
                    date = today + dt.timedelta(days=day)
                    value = demand * WEEKLY[date.weekday()]
                    forecasts.write(f"{key}\t{date.isoformat()}\t{value:.3f}\n")
                if with_sales:
                    for day in range(1, SALES_DAYS + 1):
                        date = today - dt.timedelta(days=day)
                        units = max(
                            0, round(demand * WEEKLY[date.weekday()] * rng.uniform(0.6, 1.4))
                        )
                        sales.write(f"{key}\t{date.isoformat()}\t{units}\n")
            for name, buffer, columns in (
                ("inventory", inventory, "customer_id, store_id, product_id, on_hand"),
                (
                    "forecasts",
                    forecasts,
                    "customer_id, store_id, product_id, forecast_date, demand",
                ),
                ("sales", sales, "customer_id, store_id, product_id, sale_date, units"),
            ):
                if name == "sales" and not with_sales:
                    continue
                buffer.seek(0)
                cursor.copy_expert(f"COPY {name} ({columns}) FROM STDIN", buffer)
                counts[name] += cursor.rowcount
            raw.commit()
            if on_chunk is not None:
                on_chunk(min(start + CHUNK, skus))
        # A freshly bulk-loaded table is what autovacuum visits next, in the middle of the
        # sweep being timed; a production database has been vacuumed. Do it now, for both
        # the sweep and the floor.
        raw.commit()
        raw.driver_connection.autocommit = True
        cursor.execute("VACUUM (ANALYZE)")
    finally:
        raw.close()
    return counts


def load_with_progress(
    engine: Engine, *, customer_id: str, skus: int, today: dt.date, past_days: int = 0
) -> float:
    """:func:`load` with a progress bar on stderr; returns the seconds it took."""
    began = time.perf_counter()
    load(
        engine,
        customer_id=customer_id,
        skus=skus,
        today=today,
        past_days=past_days,
        on_chunk=lambda done: draw(progress_line(done, skus, time.perf_counter() - began)),
    )
    return time.perf_counter() - began
