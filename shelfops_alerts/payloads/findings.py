"""What one finding may hold, as the check makes it and as ``dedup_and_persist`` receives it.

The check applies :func:`check_finding` to every finding it makes, so a SKU whose finding
could not be stored (an id with a control character, an infinite number in its metadata) is
refused alone, with the reason, and the rest of its batch goes on; ``dedup_and_persist``
applies :func:`finding_from_json` to what a message carries, and refuses the whole message
if one finding fails (it was not made by our check).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from shelfops_alerts.detect.rules.finding import Finding
from shelfops_alerts.payloads import InvalidPayload
from shelfops_alerts.payloads.values import check_id, check_json, check_text, shown
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
