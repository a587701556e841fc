"""Incoming events: what a producer may send, validated before anything changes.

Ids follow the rules of CSV ids (no control characters: a NUL would fail its whole batch
inside PostgreSQL). A producer is strict: one bad SKU refuses the event, before anything is
queued, so the producer can fix it. A worker reading an event that reached the broker anyway
(sent by name, or by an older producer) is ``partial``: each SKU that cannot be read is
refused on its own, with the reason, and the rest of the event goes on; a bad customer,
run id or list refuses the whole event, as it cannot be split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shelfops_alerts.payloads.values import MAX_RUN_ID_LENGTH, check_id, check_text, shown
from shelfops_alerts.skus import Sku, parse_sku

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
    #: Why each SKU that could not be read was refused (only when read ``partial``).
    refused: tuple[str, ...] = ()

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
    refused: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "skus": None if self.skus is None else [str(sku) for sku in self.skus],
        }


def customer(value: object) -> str:
    """A customer id, as every id: InvalidEvent says what is wrong with it."""
    try:
        return check_id("customer_id", value)
    except ValueError as exc:
        raise InvalidEvent(str(exc), field="customer_id") from None


def read_skus(
    skus: object, *, partial: bool = False, most: int = MAX_EVENT_SKUS
) -> tuple[tuple[Sku, ...] | None, tuple[str, ...]]:
    """The SKUs named (each once, in order; None: all), and why each one that could not be
    read was refused. Strict unless ``partial``: then a bad SKU is refused alone, and only a
    list with no readable SKU at all refuses the event. At most ``most`` may be named."""
    if skus is None:
        return None, ()
    if not isinstance(skus, list | tuple):
        raise InvalidEvent(
            f"skus must be a list of 'STORE/PRODUCT', got {shown(skus)}", field="skus"
        )
    if len(skus) > most:
        raise InvalidEvent(
            f"at most {most} SKUs may be named at once, got {len(skus)}", field="skus"
        )
    parsed: dict[Sku, None] = {}
    refused: list[str] = []
    for item in skus:
        try:
            parsed[parse_sku(item)] = None
        except ValueError as exc:
            if not partial:
                raise InvalidEvent(str(exc), field="skus") from None
            refused.append(str(exc))
    if not parsed:
        if refused:
            more = f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""
            raise InvalidEvent(f"no SKU named could be read: {refused[0]}{more}", field="skus")
        raise InvalidEvent("skus is empty; leave it out to check every SKU", field="skus")
    return tuple(parsed), tuple(refused)


def forecast_complete(
    customer_id: object, run_id: object = None, skus: object = None, *, partial: bool = False
) -> ForecastComplete:
    """Validate a forecast-complete event; InvalidEvent says exactly what is wrong.

    ``partial`` (workers): a SKU that cannot be read is refused alone (see ``refused``)."""
    who = customer(customer_id)
    if run_id is not None:
        if not isinstance(run_id, str | int) or isinstance(run_id, bool):
            raise InvalidEvent(f"run_id must be text, got {shown(run_id)}", field="run_id")
        try:
            run_id = check_text("run_id", str(run_id), max_length=MAX_RUN_ID_LENGTH)
        except ValueError as exc:
            raise InvalidEvent(str(exc), field="run_id") from None
    named, refused = read_skus(skus, partial=partial)
    return ForecastComplete(customer_id=who, run_id=run_id, skus=named, refused=refused)


def sales_recorded(
    customer_id: object, skus: object = None, *, partial: bool = False
) -> SalesRecorded:
    """Validate a sales-recorded event; InvalidEvent says exactly what is wrong."""
    who = customer(customer_id)
    named, refused = read_skus(skus, partial=partial)
    return SalesRecorded(customer_id=who, skus=named, refused=refused)
