"""Bad stored input for one SKU is refused with its reason; the rest of its batch is judged."""

from __future__ import annotations

from shelfops_alerts.detect.checks import check_batch
from shelfops_alerts.skus import Sku
from tests.support.data import poison, put_skus, today


def test_check_batch_rejects_the_bad_sku_and_judges_the_others(db):
    put_skus(db, "bad", [("S1", "P1", 5.0, 10.0), ("S1", "P2", 5.0, 10.0)])
    poison(db, "S1", "P1")
    with db() as session:
        result = check_batch(
            session, customer_id="bad", skus=[Sku("S1", "P1"), Sku("S1", "P2")], today=today()
        )
    assert [(sku, "daily demand" in why) for sku, why in result.rejected] == [
        (Sku("S1", "P1"), True)
    ]
    assert [f.product_id for f in result.findings] == ["P2"]
    assert Sku("S1", "P1") not in result.checked
