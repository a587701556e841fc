"""A batch's findings as columns: how the check → persist message carries them.

A sweep's batch of 5,000 SKUs finds a few hundred things, and each finding's metadata repeats
the same dozen-odd keys (a reorder finding's are about 350 of its 900 characters). As
columns — each field's values in one list, each distinct set of metadata keys once (a
*layout*) and per finding its layout's number and its metadata values in that order — the
message is about half the size, so the JSON encoding, base64 and copies of it that Celery
and the Redis transport make in both tasks cost about half as much too.

:func:`findings_from_columns` reads the columns back as findings after checking their
shape only; what each finding holds is then judged by
:func:`~shelfops_alerts.payloads.findings.check_findings`, as for findings of the earlier
form (a list of objects, one per finding), which persist still reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import starmap
from operator import attrgetter
from typing import Any

from shelfops_alerts.detect.rules.finding import Finding
from shelfops_alerts.payloads import InvalidPayload
from shelfops_alerts.payloads.values import shown

#: The finding's fields other than metadata, each a column of its own, in ``Finding``'s order.
FIELD_COLUMNS = {
    "stores": "store_id",
    "products": "product_id",
    "types": "alert_type",
    "severities": "severity",
    "messages": "message",
}
#: Every column of the compact form: the fields', then the metadata's.
COLUMNS = frozenset({*FIELD_COLUMNS, "layouts", "layout", "metadata"})
_METADATA = attrgetter("metadata")


def findings_to_columns(findings: Sequence[Finding]) -> dict[str, list[Any]]:
    """``findings`` as columns (see the module); the metadata values are kept as they are."""
    metas = list(map(_METADATA, findings))
    layouts: dict[tuple[str, ...], int] = {}
    layout = [layouts.setdefault(keys, len(layouts)) for keys in map(tuple, metas)]
    columns: dict[str, list[Any]] = {
        column: list(map(attrgetter(name), findings)) for column, name in FIELD_COLUMNS.items()
    }
    columns["layouts"] = list(map(list, layouts))
    columns["layout"] = layout
    columns["metadata"] = [list(meta.values()) for meta in metas]
    return columns


def findings_from_columns(data: Mapping[str, Any], *, most: int) -> list[Finding]:
    """The findings of :func:`findings_to_columns`'s form, at most ``most`` of them.

    Only the shape is checked here (InvalidPayload says what is wrong): the columns, of one
    length, the layouts' keys text, each finding's layout one of them and its metadata
    values as many as its layout's keys. The findings' values are the caller's to check.
    """
    if set(data) != COLUMNS:
        raise InvalidPayload(f"findings must hold the columns {', '.join(sorted(COLUMNS))}")
    columns = {column: data[column] for column in COLUMNS}
    if not all(type(values) is list for values in columns.values()):
        raise InvalidPayload("each column of findings must be a list")
    layouts = columns.pop("layouts")
    if len(set(map(len, columns.values()))) != 1:
        raise InvalidPayload("the columns of findings must be of one length")
    layout, values = columns["layout"], columns["metadata"]
    if len(layout) > most or len(layouts) > most:
        raise InvalidPayload(f"findings must be a list of at most {most} in a batch")
    if not set(map(type, layouts)) <= {list} or not all(
        set(map(type, keys)) <= {str} for keys in layouts
    ):
        raise InvalidPayload("findings: each layout must be a list of text keys")
    if not set(map(type, layout)) <= {int} or not (
        min(layout, default=0) >= 0 and max(layout, default=-1) < len(layouts)
    ):
        raise InvalidPayload(f"findings: a layout must be one of {len(layouts)}")
    keys = list(map(layouts.__getitem__, layout))
    if not set(map(type, values)) <= {list} or list(map(len, values)) != list(map(len, keys)):
        (bad,) = [
            row
            for row, names in zip(values, keys, strict=True)
            if type(row) is not list or len(row) != len(names)
        ][:1]
        raise InvalidPayload(f"findings: metadata values do not match their layout: {shown(bad)}")
    metadata = list(map(dict, starmap(zip, zip(keys, values, strict=True))))
    return list(map(Finding, *(columns[column] for column in FIELD_COLUMNS), metadata))
