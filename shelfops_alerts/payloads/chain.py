"""The payloads of the chain check → persist → publish, and of a sweep's batch context.

Each reader returns the typed value the task acts on, or raises :class:`InvalidPayload`
saying what is wrong; the task then refuses the message whole and nothing is written. Only a
check's SKUs are read one by one (a SKU that cannot be read is refused alone, as in an
event): everything else in a chain was made by our own tasks, so a payload that fails was
forged or corrupted, and none of it is trusted.

Sizes are bounded (``max_skus``): a check names at most as many SKUs as an event may
(larger ones are refused; the check task splits anything above SHELFOPS_MAX_BATCH_SIZE into
chains of that size), and a batch result at most SHELFOPS_MAX_BATCH_SIZE distinct SKUs, with
at most one evaluated pair, finding and change per SKU and alert type.
"""

from __future__ import annotations

import dataclasses
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import chain, repeat, starmap
from operator import itemgetter
from typing import Any

from shelfops_alerts.alerts.persist import PersistResult
from shelfops_alerts.detect.checks import MAX_REASON_LENGTH, BatchResult, merged_runs
from shelfops_alerts.detect.rules import Finding
from shelfops_alerts.intake.events import InvalidEvent, customer, read_skus
from shelfops_alerts.payloads import InvalidPayload
from shelfops_alerts.payloads.finding_columns import findings_from_columns
from shelfops_alerts.payloads.findings import check_findings, findings_from_json
from shelfops_alerts.payloads.values import (
    check_id,
    check_ids,
    check_number,
    check_text,
    check_whole,
    shown,
)
from shelfops_alerts.skus import Sku, SkuSpan, is_span, parse_span
from shelfops_alerts.stack.garbage import paused_gc
from shelfops_alerts.vocabulary import ALERT_TYPES

#: Most delivery ids one publish may carry: a full batch's changes mailed to 25 recipients
#: each. A larger list is refused; the relay queues those deliveries anyway.
MAX_DELIVERY_IDS = 200_000
#: A batch context: at most this many entries, each a short scalar.
MAX_CONTEXT_KEYS = 16
MAX_CONTEXT_TEXT = 256
#: The context entries a sweep's batch carries (and every batch's ledger row), and what
#: each must be.
_SWEEP_KEYS = {
    "ledger": lambda v: check_whole("context.ledger", v, minimum=1),
    "sweep_id": lambda v: check_whole("context.sweep_id", v, minimum=1),
    "batch": lambda v: check_whole("context.batch", v, minimum=0),
    "lock": lambda v: check_text("context.lock", v, max_length=MAX_CONTEXT_TEXT),
    "lock_ttl_s": lambda v: _positive("context.lock_ttl_s", v),
}
_WORD = re.compile(r"[a-z_]{1,32}")


@dataclass(frozen=True)
class CheckRequest:
    """A ``shelfops.check_stockout_risk`` message, read."""

    customer_id: str
    #: The SKUs named (empty when the check names a span instead).
    skus: tuple[Sku, ...]
    #: Why each SKU that could not be read was refused (the rest are checked).
    refused: tuple[str, ...]
    context: dict[str, Any] | None
    only_types: list[str] | None
    #: The span of keys the check reads (a sweep's page), instead of named SKUs.
    span: SkuSpan | None = None


def _positive(name: str, value: object) -> float:
    number = check_number(name, value)
    if number <= 0:
        raise ValueError(f"{name} must be greater than 0, got {number!r}")
    return number


def _refused(what: str, exc: ValueError) -> InvalidPayload:
    return InvalidPayload(f"{what}: {exc}")


def read_context(value: object) -> dict[str, Any] | None:
    """A batch's context (None: none): at most 16 entries with short names, each a scalar
    (short text, a finite number, a boolean or null); a sweep's entries (``sweep_id``,
    ``batch``, ``lock``, ``lock_ttl_s``) must have their own types."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidPayload(f"context must be an object, got {shown(value)}")
    if len(value) > MAX_CONTEXT_KEYS:
        raise InvalidPayload(f"context has more than {MAX_CONTEXT_KEYS} entries")
    try:
        for key, item in value.items():
            check_text("a context key", key, max_length=64)
            if key in _SWEEP_KEYS:
                _SWEEP_KEYS[key](item)
            elif isinstance(item, str):
                check_text(f"context.{key}", item, max_length=MAX_CONTEXT_TEXT)
            elif isinstance(item, int | float) and not isinstance(item, bool):
                check_number(f"context.{key}", item)
            elif item is not None and not isinstance(item, bool):
                raise ValueError(f"context.{key} must be text, a number, a boolean or null")
    except ValueError as exc:
        raise InvalidPayload(str(exc)) from None
    return dict(value)


def check_request(
    customer_id: object,
    skus: object,
    context: object = None,
    only_types: object = None,
    *,
    max_skus: int,
) -> CheckRequest:
    """A check of at most ``max_skus`` SKUs of one customer, or of a span of its keys; a SKU
    that cannot be read is refused alone (``refused``), everything else refuses the message."""
    span = None
    named: tuple[Sku, ...] | None
    refused: tuple[str, ...]
    try:
        who = customer(customer_id)
        if is_span(skus):
            span = parse_span(skus)
            named, refused = (), ()
        else:
            named, refused = read_skus(skus, partial=True, most=max_skus)
    except InvalidEvent as exc:
        raise InvalidPayload(str(exc)) from None
    except ValueError as exc:
        raise InvalidPayload(f"skus: {exc}") from None
    if named is None:
        raise InvalidPayload("a check names its SKUs; skus is missing")
    if only_types is not None:
        if not isinstance(only_types, list) or not set(map(str, only_types)) <= set(ALERT_TYPES):
            raise InvalidPayload(f"only_types must be a list among {', '.join(ALERT_TYPES)}")
        only_types = [str(kind) for kind in only_types]
    return CheckRequest(who, named, refused, read_context(context), only_types, span)


def _rows(data: Mapping[str, Any], key: str, width: int, most: int) -> list[list[Any]]:
    rows = data.get(key, [])
    if not isinstance(rows, list):
        raise InvalidPayload(f"{key} must be a list, got {shown(rows)}")
    if len(rows) > most:
        raise InvalidPayload(f"{key} holds {len(rows)} entries, at most {most} in a batch")
    if not set(map(type, rows)) <= {list} or not set(map(len, rows)) <= {width}:
        (row,) = [row for row in rows if type(row) is not list or len(row) != width][:1]
        raise InvalidPayload(f"each of {key} must be a list of {width}, got {shown(row)}")
    return rows


def _skus(key: str, rows: list[list[Any]]) -> list[Sku]:
    """The SKUs in the first two columns of ``rows``, every id checked."""
    try:
        stores = check_ids("store_id", list(map(itemgetter(0), rows)))
        products = check_ids("product_id", list(map(itemgetter(1), rows)))
    except ValueError as exc:
        raise _refused(key, exc) from None
    return list(map(tuple.__new__, repeat(Sku), zip(stores, products, strict=True)))


def _sku_columns(key: str, stores: list[Any], products: list[Any]) -> list[Sku]:
    """The SKUs of two columns of ids, every id checked."""
    try:
        checked = zip(check_ids("store_id", stores), check_ids("product_id", products), strict=True)
    except ValueError as exc:
        raise _refused(key, exc) from None
    return list(map(tuple.__new__, repeat(Sku), checked))


def _fields_of(
    kind: type, data: object, what: str, *, not_sent: frozenset[str] = frozenset()
) -> Mapping[str, Any]:
    """``data`` if it is an object of ``kind``'s fields (less those ``not_sent``)."""
    if not isinstance(data, Mapping):
        raise InvalidPayload(f"{what} must be an object, got {shown(data)}")
    unknown = set(data) - ({field.name for field in dataclasses.fields(kind)} - not_sent)
    if unknown:
        raise InvalidPayload(f"{what} has unknown fields {shown(sorted(map(str, unknown)))}")
    return data


def _evaluated(value: object, max_skus: int) -> list[tuple[Sku, str]]:
    """The evaluated (SKU, alert type) pairs of a checked batch, in either form a check
    writes: compact (``{"stores", "products", "types": {type: [[start, stop], ...]}}``, see
    ``detect.checks``) or a ``[store, product, type]`` triple per pair (an older release)."""
    if isinstance(value, list):
        rows = _rows({"evaluated": value}, "evaluated", 3, max_skus * len(ALERT_TYPES))
        kinds = list(map(itemgetter(2), rows))
        for kind in kinds if not set(map(type, kinds)) <= {str} else set(kinds):
            if kind not in ALERT_TYPES:
                raise InvalidPayload(f"evaluated: unknown alert type {shown(kind)}")
        return list(zip(_skus("evaluated", rows), kinds, strict=True))
    if not isinstance(value, Mapping) or set(value) != {"stores", "products", "types"}:
        raise InvalidPayload(f"evaluated must hold stores, products and types, got {shown(value)}")
    stores, products, types = value["stores"], value["products"], value["types"]
    if not isinstance(stores, list) or not isinstance(products, list):
        raise InvalidPayload("evaluated: stores and products must be lists")
    if len(stores) != len(products) or len(stores) > max_skus:
        raise InvalidPayload(
            f"evaluated: {len(stores)} stores and {len(products)} products, at most {max_skus}"
        )
    skus = _sku_columns("evaluated", stores, products)
    if not isinstance(types, Mapping) or not set(types) <= set(ALERT_TYPES):
        raise InvalidPayload(f"evaluated: types must map known alert types, got {shown(types)}")
    for kind, runs in types.items():
        if not isinstance(runs, list) or len(runs) > len(skus):
            raise InvalidPayload(f"evaluated: {kind} must be a list of at most {len(skus)} runs")
        for run in runs:
            if (
                not isinstance(run, list)
                or len(run) != 2
                or not all(type(bound) is int for bound in run)
                or not 0 <= run[0] < run[1] <= len(skus)
            ):
                raise InvalidPayload(f"evaluated: {kind} has a bad run {shown(run)}")
    if len(types) == 1:
        # A sweep's batch: one type (stockout), a run or a few; no list per SKU.
        ((only, spans),) = types.items()
        positions = sorted(set(chain.from_iterable(starmap(range, spans))))
        return list(zip(map(skus.__getitem__, positions), repeat(only)))
    # Each SKU's types in the order of ``types``, each once: a type's runs joined where they
    # overlap, then appended to its SKUs' lists run by run (no Python step per pair).
    kinds_at: list[list[str]] = [[] for _ in skus]
    for kind, runs in types.items():
        for start, stop in merged_runs(runs):
            deque(map(list.append, kinds_at[start:stop], repeat(kind)), maxlen=0)
    return [(sku, kind) for sku, kinds in zip(skus, kinds_at, strict=True) for kind in kinds]


def _findings(value: object, most: int) -> list[Finding]:
    """A checked batch's findings, at most ``most``, every field valid, in either form a
    check writes: columns (``payloads.finding_columns``) or an object per finding (an
    older release)."""
    if isinstance(value, Mapping):
        findings = findings_from_columns(value, most=most)
        for _, error in check_findings(findings)[:1]:
            raise error
        return findings
    if not isinstance(value, list) or len(value) > most:
        raise InvalidPayload(f"findings must be a list of at most {most} in a batch")
    return findings_from_json(value)


@paused_gc()  # thousands of keys and pairs, none in a cycle
def read_batch(data: object, *, max_skus: int) -> BatchResult:
    """A ``shelfops.dedup_and_persist`` payload: what a check of at most ``max_skus`` SKUs
    found, every id, alert type, severity, message and metadata valid."""
    # (``rest``, a span's unchecked part, stays with the check that queued it.)
    data = _fields_of(BatchResult, data, "a checked batch", not_sent=frozenset({"rest"}))
    try:
        who = check_id("customer_id", data.get("customer_id"))
    except ValueError as exc:
        raise InvalidPayload(str(exc)) from None
    pairs = max_skus * len(ALERT_TYPES)
    evaluated = _evaluated(data.get("evaluated") or [], max_skus)
    findings = _findings(data.get("findings", []), pairs)
    unknown = _skus("unknown", _rows(data, "unknown", 2, max_skus))
    missing = _skus("without_forecast", _rows(data, "without_forecast", 2, max_skus))
    rows = _rows(data, "rejected", 3, max_skus)
    try:
        reasons = [
            check_text("a reason", row[2], max_length=MAX_REASON_LENGTH, prose=True) for row in rows
        ]
    except ValueError as exc:
        raise _refused("rejected", exc) from None
    rejected = list(zip(_skus("rejected", rows), reasons, strict=True))
    span = None
    if data.get("span") is not None:
        try:
            span = parse_span(data["span"])
        except ValueError as exc:
            raise _refused("span", exc) from None
    result = BatchResult(
        customer_id=who,
        evaluated=evaluated,
        findings=findings,
        unknown=unknown,
        without_forecast=missing,
        rejected=rejected,
        context=read_context(data.get("context")) or {},
        span=span,
    )
    named = set(map(itemgetter(0), evaluated)) | set(unknown) | set(missing)
    named |= set(map(itemgetter(0), rejected))
    named |= {Sku(f.store_id, f.product_id) for f in result.findings}
    if len(named) > max_skus:
        raise InvalidPayload(f"a batch names {len(named)} SKUs, at most {max_skus}")
    return result


def _ids(data: Mapping[str, Any], key: str, most: int) -> list[int]:
    ids = data.get(key, [])
    if not isinstance(ids, list) or len(ids) > most:
        raise InvalidPayload(f"{key} must be a list of at most {most} ids")
    try:
        return [check_whole(f"each of {key}", item, minimum=1) for item in ids]
    except ValueError as exc:
        raise InvalidPayload(str(exc)) from None


def read_persisted(data: object, *, max_skus: int) -> PersistResult:
    """A ``shelfops.publish_alerts`` payload: what persisting a batch of at most ``max_skus``
    SKUs changed, as whole-number ids and counts."""
    data = _fields_of(PersistResult, data, "a persisted batch")
    pairs = max_skus * len(ALERT_TYPES)
    events = data.get("events", {})
    try:
        who = check_id("customer_id", data.get("customer_id"))
        if not isinstance(events, Mapping) or len(events) > MAX_CONTEXT_KEYS:
            raise ValueError(f"events must be an object of counts, got {shown(events)}")
        for word, count in events.items():
            if not isinstance(word, str) or not _WORD.fullmatch(word):
                raise ValueError(f"events: {shown(word)} is not an event")
            check_whole(f"events.{word}", count, maximum=pairs)
        checked = check_whole("skus_checked", data.get("skus_checked", 0), maximum=max_skus)
    except ValueError as exc:
        raise InvalidPayload(str(exc)) from None
    return PersistResult(
        customer_id=who,
        history_ids=_ids(data, "history_ids", pairs),
        delivery_ids=_ids(data, "delivery_ids", MAX_DELIVERY_IDS),
        events=dict(events),
        skus_checked=checked,
        context=read_context(data.get("context")) or {},
    )


def read_sweep_context(value: object) -> dict[str, Any]:
    """The context a sweep's failed batch is counted with (empty: not a sweep's batch)."""
    return read_context(value) or {}
