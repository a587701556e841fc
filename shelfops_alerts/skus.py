"""SKU keys and the ``STORE/PRODUCT`` notation users type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

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


@dataclass(frozen=True)
class SkuSpan:
    """A run of one customer's SKU keys in the database's key order: every key after
    ``after`` (None: from the first) up to and including ``last``.

    A sweep hands a check its page of SKUs as a span, not as the keys themselves: the
    message and the ledger row stay a few bytes whatever the batch size, and the check
    reads its page by one index range scan. Keys are only ever compared in SQL, so the
    order is the database's collation, never Python's.
    """

    after: Sku | None
    last: Sku

    def to_json(self) -> dict[str, Any]:
        return {"after": None if self.after is None else list(self.after), "last": list(self.last)}

    def __str__(self) -> str:
        return f"the SKUs after {self.after or 'the first'} up to {self.last}"


def is_span(value: object) -> bool:
    """Whether a message's ``skus`` is a span (an object) rather than a list of keys."""
    return isinstance(value, Mapping)


def parse_span(value: object) -> SkuSpan:
    """Read ``{"after": [store, product] | null, "last": [store, product]}``; ValueError
    says what is wrong."""
    if not isinstance(value, Mapping) or set(value) != {"after", "last"}:
        raise ValueError(f"a span must hold after and last, got {shown(value)}")
    after = value["after"]
    return SkuSpan(None if after is None else parse_sku(after), parse_sku(value["last"]))
