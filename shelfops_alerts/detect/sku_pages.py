"""Walking a customer's SKUs in pages (keyset pagination), never all keys at once.

:func:`sku_spans` cuts the pages without reading their keys into Python: each page is a
:class:`~shelfops_alerts.skus.SkuSpan` (after the last page's last key, up to this one's),
found by one index probe that skips a page's worth of keys inside PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.skus import Sku, SkuSpan

# The last key of the next page: the page_size-th key after ``after``; or, when fewer are
# left, the customer's last key.
_PAGE_END = text(
    """
    SELECT store_id, product_id FROM inventory
    WHERE customer_id = :customer_id AND (store_id, product_id) > (:after_store, :after_product)
    ORDER BY store_id, product_id
    OFFSET :skip LIMIT 1
    """
)
_LAST = text(
    """
    SELECT store_id, product_id FROM inventory
    WHERE customer_id = :customer_id AND (store_id, product_id) > (:after_store, :after_product)
    ORDER BY store_id DESC, product_id DESC
    LIMIT 1
    """
)

_CUSTOMERS = text(
    """
    SELECT customer_id FROM inventory WHERE customer_id > :after
    ORDER BY customer_id LIMIT 1
    """
)


def sku_spans(
    factory: sessionmaker[Session],
    *,
    customer_id: str,
    page_size: int,
    after: Sku | None = None,
) -> Iterator[SkuSpan]:
    """Pages of at most ``page_size`` SKU keys, in key order, as spans (their keys stay in
    the database); only keys after ``after`` (a walk that continues where it stopped)."""
    while True:
        params = {
            "customer_id": customer_id,
            "after_store": after.store_id if after else "",
            "after_product": after.product_id if after else "",
            "skip": page_size - 1,
        }
        with factory() as session:
            row = session.execute(_PAGE_END, params).one_or_none()
            full = row is not None
            if not full:
                row = session.execute(_LAST, params).one_or_none()
        if row is None:
            return
        span = SkuSpan(after, Sku(*row))
        yield span
        if not full:
            return
        after = span.last


def customers(factory: sessionmaker[Session], *, after: str = "") -> Iterator[str]:
    """Every customer that has inventory (after ``after``), in order, one index probe each
    (a loose index scan)."""
    while True:
        with factory() as session:
            found = session.execute(_CUSTOMERS, {"after": after}).scalar_one_or_none()
        if found is None:
            return
        yield found
        after = found
