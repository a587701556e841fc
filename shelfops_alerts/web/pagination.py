"""Keyset cursors for the alerts API: the (updated_at, id) of the last alert of a page.

Opaque to clients (URL-safe base64), exact (no offset drift while alerts change), and
cheap (the index on (customer_id, updated_at DESC, id DESC) seeks straight to it).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt


def encode_cursor(updated_at: dt.datetime, alert_id: int) -> str:
    raw = f"{updated_at.isoformat()}|{alert_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    """The position a cursor names; ValueError for anything this API did not hand out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, alert_id = raw.rpartition("|")
        updated_at = dt.datetime.fromisoformat(stamp)
        position = int(alert_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("cursor is not one this API handed out") from None
    if updated_at.tzinfo is None or position < 1:
        raise ValueError("cursor is not one this API handed out")
    return updated_at, position
