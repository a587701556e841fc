"""Walking a customer's SKUs in pages (keyset pagination), never all keys at once."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.skus import Sku

_PAGE = text(
    """
    SELECT store_id, product_id FROM inventory
    WHERE customer_id = :customer_id AND (store_id, product_id) > (:after_store, :after_product)
    ORDER BY store_id, product_id
    LIMIT :limit
    """
)

_CUSTOMERS = text(
    """
    SELECT customer_id FROM inventory WHERE customer_id > :after
    ORDER BY customer_id LIMIT 1
    """
)


def sku_pages(
    factory: sessionmaker[Session], *, customer_id: str, page_size: int
) -> Iterator[list[Sku]]:
    """Pages of at most ``page_size`` SKU keys, in key order, each read in its own query."""
    after = Sku("", "")
    while True:
        with factory() as session:
            rows = session.execute(
                _PAGE,
                {
                    "customer_id": customer_id,
                    "after_store": after.store_id,
                    "after_product": after.product_id,
                    "limit": page_size,
                },
            ).all()
        if not rows:
            return
        page = list(map(Sku._make, rows))
        yield page
        if len(page) < page_size:
            return
        after = page[-1]


def customers(factory: sessionmaker[Session]) -> Iterator[str]:
    """Every customer that has inventory, one index probe each (a loose index scan)."""
    after = ""
    while True:
        with factory() as session:
            found = session.execute(_CUSTOMERS, {"after": after}).scalar_one_or_none()
        if found is None:
            return
        yield found
        after = found
