"""Incoming events: what a producer may send, validated before anything changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shelfops_alerts.skus import MAX_ID_LENGTH, Sku, parse_sku

#: Most SKUs one event may name; beyond that, send several events or let the sweep do it.
MAX_EVENT_SKUS = 100_000


class InvalidEvent(ValueError):
    """An event payload that cannot be acted on; nothing was changed.

    ``field`` names the payload field at fault (the web service reports it in its 422).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ForecastComplete:
    """A forecasting run finished for a customer: check all its SKUs, or those named."""

    customer_id: str
    run_id: str | None = None
    skus: tuple[Sku, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "run_id": self.run_id,
            "skus": None if self.skus is None else [str(sku) for sku in self.skus],
        }


@dataclass(frozen=True)
class SalesRecorded:
    """New actual sales were imported for a customer: check anomalies and forecast accuracy
    of all its SKUs, or those named."""

    customer_id: str
    skus: tuple[Sku, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "skus": None if self.skus is None else [str(sku) for sku in self.skus],
        }


def _customer(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent(
            f"customer_id must be non-empty text, got {value!r}", field="customer_id"
        )
    if len(value.strip()) > MAX_ID_LENGTH:
        raise InvalidEvent(
            f"customer_id is longer than {MAX_ID_LENGTH} characters", field="customer_id"
        )
    return value.strip()


def _skus(skus: object) -> tuple[Sku, ...] | None:
    if skus is None:
        return None
    if not isinstance(skus, list | tuple):
        raise InvalidEvent(f"skus must be a list of 'STORE/PRODUCT', got {skus!r}", field="skus")
    if len(skus) > MAX_EVENT_SKUS:
        raise InvalidEvent(
            f"an event names at most {MAX_EVENT_SKUS} SKUs, got {len(skus)}", field="skus"
        )
    try:
        parsed = tuple(dict.fromkeys(parse_sku(item) for item in skus))
    except ValueError as exc:
        raise InvalidEvent(str(exc), field="skus") from None
    if not parsed:
        raise InvalidEvent("skus is empty; leave it out to check every SKU", field="skus")
    return parsed


def forecast_complete(
    customer_id: object, run_id: object = None, skus: object = None
) -> ForecastComplete:
    """Validate a forecast-complete event; InvalidEvent says exactly what is wrong."""
    customer = _customer(customer_id)
    if run_id is not None and (not isinstance(run_id, str | int) or isinstance(run_id, bool)):
        raise InvalidEvent(f"run_id must be text, got {run_id!r}", field="run_id")
    return ForecastComplete(
        customer_id=customer, run_id=None if run_id is None else str(run_id), skus=_skus(skus)
    )


def sales_recorded(customer_id: object, skus: object = None) -> SalesRecorded:
    """Validate a sales-recorded event; InvalidEvent says exactly what is wrong."""
    return SalesRecorded(customer_id=_customer(customer_id), skus=_skus(skus))
