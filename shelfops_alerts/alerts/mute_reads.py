"""What mutes a batch's findings, read from the database in one statement for persist.py:
the SKUs whose forecast is doubted (inhibition.py) and the customer's silences in force
(silencing.py). The muters themselves are pure; the caller owns the transaction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shelfops_alerts.alerts.inhibition import (
    FORECAST_DRIVEN_TYPES,
    INHIBITING_TYPE,
    Inhibitor,
    inhibiting_skus,
)
from shelfops_alerts.alerts.silencing import Silencer, SilenceRule
from shelfops_alerts.alerts.statements import MUTERS
from shelfops_alerts.db import array_literal, execute_prepared
from shelfops_alerts.detect.rules import Finding


def read_muters(
    session: Session, customer_id: str, findings: list[Finding], *, prepare: bool
) -> tuple[Inhibitor, Silencer]:
    """The batch's muters, read in one statement: the SKUs whose forecast is doubted (an
    active accuracy alert, or one found in this batch) and the silences in force."""
    driven = sorted(
        {(f.store_id, f.product_id) for f in findings if f.alert_type in FORECAST_DRIVEN_TYPES}
    )
    rows = execute_prepared(
        session,
        MUTERS,
        {
            "customer_id": customer_id,
            "inhibiting": INHIBITING_TYPE,
            "stores": array_literal([s for s, _ in driven]),
            "products": array_literal([p for _, p in driven]),
        },
        prepare=prepare,
    ).all()
    doubted = {(r.store_id, r.product_id) for r in rows if r.kind == "inhibitor"}
    silences = [
        SilenceRule(int(r.id), r.store_id, r.product_id, r.alert_type)
        for r in rows
        if r.kind == "silence"
    ]
    if driven:
        doubted |= inhibiting_skus(findings)
    return Inhibitor(frozenset(doubted)), Silencer(silences)
