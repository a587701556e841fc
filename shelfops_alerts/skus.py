"""SKU keys and the ``STORE/PRODUCT`` notation users type."""

from __future__ import annotations

from typing import NamedTuple

#: Longest store or product id the database accepts.
MAX_ID_LENGTH = 64


class Sku(NamedTuple):
    """One customer's stock-keeping unit: a product in a store."""

    store_id: str
    product_id: str

    def __str__(self) -> str:
        return f"{self.store_id}/{self.product_id}"


def parse_sku(value: object) -> Sku:
    """Read ``"STORE/PRODUCT"`` or a ``[store, product]`` pair; ValueError says what is wrong."""
    if isinstance(value, str):
        store, sep, product = value.partition("/")
        if not sep:
            raise ValueError(f"SKU {value!r} must be written STORE/PRODUCT")
    elif isinstance(value, list | tuple) and len(value) == 2:
        store, product = value
    else:
        raise ValueError(f"SKU {value!r} must be 'STORE/PRODUCT' or a [store, product] pair")
    if not isinstance(store, str) or not isinstance(product, str):
        raise ValueError(f"SKU {value!r}: store and product must be text")
    store, product = store.strip(), product.strip()
    if not store or not product:
        raise ValueError(f"SKU {value!r} has an empty store or product")
    if len(store) > MAX_ID_LENGTH or len(product) > MAX_ID_LENGTH:
        raise ValueError(f"SKU {value!r}: ids are at most {MAX_ID_LENGTH} characters")
    return Sku(store, product)
