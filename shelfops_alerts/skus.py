"""SKU keys and the ``STORE/PRODUCT`` notation users type."""

from __future__ import annotations

from typing import NamedTuple

from shelfops_alerts.payloads.values import check_id, shown


class Sku(NamedTuple):
    """One customer's stock-keeping unit: a product in a store."""

    store_id: str
    product_id: str

    def __str__(self) -> str:
        return f"{self.store_id}/{self.product_id}"


def parse_sku(value: object) -> Sku:
    """Read ``"STORE/PRODUCT"`` or a ``[store, product]`` pair; ValueError says what is wrong.

    Store and product ids follow the rules of every id (CSV files' too): 1 to 64
    characters once stripped, no control characters.
    """
    if isinstance(value, str):
        store, sep, product = value.partition("/")
        if not sep:
            raise ValueError(f"SKU {shown(value)} must be written STORE/PRODUCT")
    elif isinstance(value, list | tuple) and len(value) == 2:
        store, product = value
    else:
        raise ValueError(f"SKU {shown(value)} must be 'STORE/PRODUCT' or a [store, product] pair")
    if not isinstance(store, str) or not isinstance(product, str):
        raise ValueError(f"SKU {shown(value)}: store and product must be text")
    if not store.strip() or not product.strip():
        raise ValueError(f"SKU {shown(value)} has an empty store or product")
    try:
        return Sku(check_id("store id", store), check_id("product id", product))
    except ValueError as exc:
        raise ValueError(f"SKU {shown(value)}: {exc}") from None
