"""What one finding may hold, as the check makes it and as ``dedup_and_persist`` receives it.

The check applies :func:`check_finding` to every finding it makes, so a SKU whose finding
could not be stored (an id with a control character, an infinite number in its metadata) is
refused alone, with the reason, and the rest of its batch goes on; ``dedup_and_persist``
applies :func:`finding_from_json` to what a message carries, and refuses the whole message
if one finding fails (it was not made by our check).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from itertools import chain

from shelfops_alerts.detect.rules.finding import Finding
from shelfops_alerts.payloads import InvalidPayload
from shelfops_alerts.payloads.values import (
    LEAVES,
    check_id,
    check_json,
    check_text,
    fine_ids,
    judged,
    printable,
    shown,
)
from shelfops_alerts.vocabulary import ALERT_TYPES, SEVERITIES

#: Longest alert message (the rules write one or two sentences).
MAX_MESSAGE_LENGTH = 1000
#: Bounds of a finding's metadata: characters of keys and text (a number counts 8), values
#: in all, and levels of nesting. The rules' metadata is a few hundred characters, 2 deep.
MAX_METADATA_CHARS = 8192
MAX_METADATA_ITEMS = 256
MAX_METADATA_DEPTH = 4
#: What a finding's JSON holds (the dataclass's fields; metadata may be left out).
FINDING_FIELDS = frozenset(field.name for field in dataclasses.fields(Finding))
_REQUIRED = FINDING_FIELDS - {"metadata"}
_ALERT_TYPES = frozenset(ALERT_TYPES)
_SEVERITIES = frozenset(SEVERITIES)


def check_finding(finding: Finding) -> Finding:
    """``finding`` if every field is storable and known; InvalidPayload says which is not."""
    try:
        check_id("store_id", finding.store_id)
        check_id("product_id", finding.product_id)
        if finding.alert_type not in ALERT_TYPES:
            raise ValueError(f"alert_type must be one of {', '.join(ALERT_TYPES)}")
        if finding.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}")
        check_text("message", finding.message, max_length=MAX_MESSAGE_LENGTH, prose=True)
        if not finding.message.strip():
            raise ValueError("message must not be empty")
        if not isinstance(finding.metadata, Mapping):
            raise ValueError(f"metadata must be an object, got {shown(finding.metadata)}")
        check_json(
            "metadata",
            finding.metadata,
            max_chars=MAX_METADATA_CHARS,
            max_depth=MAX_METADATA_DEPTH,
            max_items=MAX_METADATA_ITEMS,
        )
    except ValueError as exc:
        raise InvalidPayload(
            f"finding {finding.alert_type!s:.32} for {shown(finding.store_id)}/"
            f"{shown(finding.product_id)}: {exc}"
        ) from None
    return finding


def check_findings(findings: Sequence[Finding]) -> list[tuple[int, InvalidPayload]]:
    """:func:`check_finding` of each finding: the position and error of each one that
    fails (none: all are fine). A batch's findings are judged together first (their ids,
    messages and metadata gathered and judged in bulk, as :func:`check_finding` would judge
    each: a few hundred findings of plain values in a few list operations); only if that
    quick look doubts any is each checked alone, for the exact reasons."""
    if _plainly_fine(findings):
        return []
    failed = []
    for at, finding in enumerate(findings):
        try:
            check_finding(finding)
        except InvalidPayload as exc:
            failed.append((at, exc))
    return failed


def _plainly_fine(findings: Sequence[Finding]) -> bool:
    """True only if :func:`check_finding` surely accepts every finding."""
    if not findings:
        return True
    metas = [finding.metadata for finding in findings]
    messages = [finding.message for finding in findings]
    if not (
        set(map(type, metas)) <= {dict}
        and set(map(type, messages)) <= {str}
        and {type(f.alert_type) for f in findings} | {type(f.severity) for f in findings} <= {str}
        and {finding.alert_type for finding in findings} <= _ALERT_TYPES
        and {finding.severity for finding in findings} <= _SEVERITIES
        and fine_ids([finding.store_id for finding in findings])
        and fine_ids([finding.product_id for finding in findings])
        and printable("".join(messages))
        and max(map(len, messages)) <= MAX_MESSAGE_LENGTH
        and all(map(str.strip, messages))
    ):
        return False
    most = max(map(len, metas))
    if most >= MAX_METADATA_ITEMS or MAX_METADATA_DEPTH < 1:
        return False
    leaves = list(chain.from_iterable(meta.values() for meta in metas))
    if not set(map(type, leaves)) <= LEAVES:
        return False
    keys = list(chain.from_iterable(metas))
    texts = [item for item in leaves if type(item) is str]
    # Each finding's characters, bounded by its values at their longest: one value's key
    # and text (or 8 for a number) and 4 for each value and the object itself.
    longest = max(map(len, keys), default=0) + max(map(len, texts), default=0) + 8 + 4
    return most * longest + 4 <= MAX_METADATA_CHARS and judged(
        keys,
        texts,
        [item for item in leaves if type(item) is float or type(item) is int],
        nodes=0,
        max_chars=MAX_METADATA_CHARS * len(metas),
    )


def finding_from_json(data: object) -> Finding:
    """A finding from a message: an object with exactly the finding's fields, each valid."""
    if not isinstance(data, Mapping):
        raise InvalidPayload(f"a finding must be an object, got {shown(data)}")
    unknown = set(data) - FINDING_FIELDS
    missing = _REQUIRED - set(data)
    if unknown or missing:
        raise InvalidPayload(
            f"a finding has fields {', '.join(sorted(_REQUIRED))} and metadata;"
            f" unknown: {shown(sorted(map(str, unknown)))}, missing: {sorted(missing)}"
        )
    values = {name: data[name] for name in _REQUIRED}
    return check_finding(Finding(**values, metadata=data.get("metadata", {})))


def findings_from_json(items: Sequence[object]) -> list[Finding]:
    """:func:`finding_from_json` of each item (the first bad one's error), the findings
    judged together (:func:`check_findings`)."""
    if not all(type(item) is dict and item.keys() == FINDING_FIELDS for item in items):
        return [finding_from_json(item) for item in items]
    findings = [
        Finding(
            item["store_id"],  # type: ignore[index]
            item["product_id"],  # type: ignore[index]
            item["alert_type"],  # type: ignore[index]
            item["severity"],  # type: ignore[index]
            item["message"],  # type: ignore[index]
            item["metadata"],  # type: ignore[index]
        )
        for item in items
    ]
    for _, error in check_findings(findings)[:1]:
        raise error
    return findings
