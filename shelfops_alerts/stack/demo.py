"""A small demo data set, written as the CSV files a user would import.

One customer, three stores, twenty products each; a handful of SKUs run short within three
days so every severity shows up. Forecasts start today (UTC), so the demo works any day.
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
#: (store, product) → (on hand, daily demand) for the SKUs that should alert.
AT_RISK = {
    ("S01", "P001"): (4.0, 10.0),  # 0.4 days: critical
    ("S01", "P002"): (15.0, 10.0),  # 1.5 days: high
    ("S02", "P003"): (25.0, 10.0),  # 2.5 days: medium
    ("S03", "P004"): (0.0, 6.0),  # empty shelf: critical
    ("S03", "P005"): (18.0, 7.0),  # 2.6 days: medium
}
RECIPIENTS = (
    ("ops@demo-grocer.example", CRITICAL),
    ("store-manager@demo-grocer.example", HIGH),
)


def write_demo_files(folder: Path, *, today: dt.date) -> dict[str, Path]:
    """Write inventory.csv, forecasts.csv and recipients.csv; returns their paths by kind."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {kind: folder / f"{kind}.csv" for kind in ("inventory", "forecasts", "recipients")}
    with (
        paths["inventory"].open("w", newline="") as inv,
        paths["forecasts"].open("w", newline="") as fc,
    ):
        inventory = csv.writer(inv)
        forecasts = csv.writer(fc)
        inventory.writerow(["customer_id", "store_id", "product_id", "on_hand", "on_order"])
        forecasts.writerow(
            ["customer_id", "store_id", "product_id", "date", "forecasted_demand", "run_id"]
        )
        for s_index, store in enumerate(STORES):
            for p_index, product in enumerate(PRODUCTS):
                demand = 2.0 + (s_index * 7 + p_index * 3) % 9
                on_hand = demand * (6 + (p_index % 5) * 3)
                on_hand, demand = AT_RISK.get((store, product), (on_hand, demand))
                inventory.writerow([DEMO_CUSTOMER, store, product, on_hand, 0])
                for day in range(FORECAST_DAYS):
                    date = today + dt.timedelta(days=day)
                    forecasts.writerow(
                        [DEMO_CUSTOMER, store, product, date.isoformat(), demand, "demo-run-1"]
                    )
    with paths["recipients"].open("w", newline="") as rc:
        recipients = csv.writer(rc)
        recipients.writerow(["customer_id", "email", "min_severity"])
        for email, severity in RECIPIENTS:
            recipients.writerow([DEMO_CUSTOMER, email, severity])
    return paths
