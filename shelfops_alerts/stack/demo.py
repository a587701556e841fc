"""A small demo data set, written as the CSV files a user would import.

One customer, three stores, twenty products each, so the first dashboard a newcomer opens
shows every alert type and every severity:

* ``stockout_predicted``: five SKUs run short within three days (critical, high, medium),
  one of them with a delivery that arrives too late (``arrivals.csv``);
* ``reorder_recommended``: a SKU with a replenishment policy whose stock is at its reorder
  point (``policies.csv``);
* ``anomaly_detected``: four weeks of sales that track the forecast, then a spike on one
  SKU, and three days without a single sale on another that has stock on hand (phantom
  inventory) (``sales.csv`` with past forecasts);
* ``forecast_accuracy_low``: a SKU whose sales swing far around its forecast.

Dates are relative to today (UTC), so the demo works any day.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from shelfops_alerts.vocabulary import CRITICAL, HIGH

DEMO_CUSTOMER = "demo-grocer"
STORES = ("S01", "S02", "S03")
PRODUCTS = tuple(f"P{n:03d}" for n in range(1, 21))
FORECAST_DAYS = 14
#: Days of past sales (with the forecasts made for them) for the history SKUs below.
HISTORY_DAYS = 28
#: (store, product) → (on hand, daily demand) for the SKUs that should alert.
AT_RISK = {
    ("S01", "P001"): (4.0, 10.0),  # 0.4 days: critical
    ("S01", "P002"): (15.0, 10.0),  # 1.5 days: high (a delivery comes in 3 days: too late)
    ("S02", "P003"): (25.0, 10.0),  # 2.5 days: medium
    ("S03", "P004"): (0.0, 6.0),  # empty shelf: critical
    ("S03", "P005"): (18.0, 7.0),  # 2.6 days: medium
}
#: A confirmed delivery: (store, product, days from today, quantity).
ARRIVALS = (("S01", "P002", 3, 60.0),)
#: A replenishment policy at its reorder point: (store, product) → (on hand, daily demand,
#: lead time days, reorder point, order up to, case pack).
REORDER = {("S02", "P008"): (100.0, 15.0, 5, 120.0, 300.0, 12)}
SPIKE = ("S02", "P010")  # sells about 20 a day; yesterday 65
PHANTOM = ("S01", "P012")  # sells about 12 a day; nothing for the last three days
INACCURATE = ("S03", "P015")  # forecast 10 a day; sells anything from 2 to 25
SWINGS = (3.0, 25.0, 8.0, 20.0, 2.0, 17.0)
HISTORY = {SPIKE: (400.0, 20.0), PHANTOM: (80.0, 12.0), INACCURATE: (200.0, 10.0)}
RECIPIENTS = (
    ("ops@demo-grocer.example", CRITICAL),
    ("store-manager@demo-grocer.example", HIGH),
)
KINDS = ("inventory", "forecasts", "recipients", "policies", "sales", "arrivals")


def _sold(sku: tuple[str, str], demand: float, days_ago: int) -> float:
    """Units the history SKUs sold ``days_ago`` days before today."""
    wobble = (days_ago * 7) % 5 - 2  # -2..2: a steady seller's ordinary noise
    if sku == SPIKE:
        return 65.0 if days_ago == 1 else demand + wobble
    if sku == PHANTOM:
        return 0.0 if days_ago <= 3 else demand + wobble
    return SWINGS[days_ago % len(SWINGS)]  # INACCURATE


def _stock(store: str, product: str, s_index: int, p_index: int) -> tuple[float, float]:
    demand = 2.0 + (s_index * 7 + p_index * 3) % 9
    on_hand = demand * (6 + (p_index % 5) * 3)
    if (store, product) in REORDER:
        on_hand, demand = REORDER[(store, product)][:2]
    return HISTORY.get((store, product), AT_RISK.get((store, product), (on_hand, demand)))


def write_demo_files(folder: Path, *, today: dt.date) -> dict[str, Path]:
    """Write the demo's CSV files (``KINDS``); returns their paths by kind."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {kind: folder / f"{kind}.csv" for kind in KINDS}
    files = {kind: paths[kind].open("w", newline="") for kind in KINDS}
    try:
        out = {kind: csv.writer(handle) for kind, handle in files.items()}
        out["inventory"].writerow(["customer_id", "store_id", "product_id", "on_hand", "on_order"])
        out["forecasts"].writerow(
            ["customer_id", "store_id", "product_id", "date", "forecasted_demand", "run_id"]
        )
        out["sales"].writerow(["customer_id", "store_id", "product_id", "date", "units"])
        for s_index, store in enumerate(STORES):
            for p_index, product in enumerate(PRODUCTS):
                on_hand, demand = _stock(store, product, s_index, p_index)
                out["inventory"].writerow([DEMO_CUSTOMER, store, product, on_hand, 0])
                past = HISTORY_DAYS if (store, product) in HISTORY else 0
                for day in range(-past, FORECAST_DAYS):
                    date = (today + dt.timedelta(days=day)).isoformat()
                    out["forecasts"].writerow(
                        [DEMO_CUSTOMER, store, product, date, demand, "demo-run-1"]
                    )
                    if day < 0:
                        units = _sold((store, product), demand, -day)
                        out["sales"].writerow([DEMO_CUSTOMER, store, product, date, units])
        out["policies"].writerow(
            [
                "customer_id",
                "store_id",
                "product_id",
                "lead_time_days",
                "reorder_point",
                "order_up_to",
                "case_pack",
            ]
        )
        for (store, product), (_, _, lead, rop, up_to, pack) in REORDER.items():
            out["policies"].writerow([DEMO_CUSTOMER, store, product, lead, rop, up_to, pack])
        out["arrivals"].writerow(["customer_id", "store_id", "product_id", "date", "quantity"])
        for store, product, in_days, quantity in ARRIVALS:
            date = (today + dt.timedelta(days=in_days)).isoformat()
            out["arrivals"].writerow([DEMO_CUSTOMER, store, product, date, quantity])
        out["recipients"].writerow(["customer_id", "email", "min_severity"])
        for email, severity in RECIPIENTS:
            out["recipients"].writerow([DEMO_CUSTOMER, email, severity])
    finally:
        for handle in files.values():
            handle.close()
    return paths
