"""The rules every value from outside follows: ids, text, whole and finite numbers, and
JSON of bounded size. CSV rows, events and the messages tasks pass each other all use them,
so an id that one door refuses, no other accepts.

Each rule returns the clean value or raises ``ValueError`` saying what is wrong; a quoted
value is cut to :data:`SHOWN_LENGTH` characters, so a huge one never fills a log line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

#: Longest customer, store or product id: the width of the id columns in the database.
MAX_ID_LENGTH = 64
#: Longest forecast run id, the width of ``forecasts.run_id``.
MAX_RUN_ID_LENGTH = 128
#: The largest number a payload may hold either way: every integer up to it is exact in a
#: double (JavaScript's Number.MAX_SAFE_INTEGER), and far above any count or quantity.
MAX_EXACT_INTEGER = 2**53 - 1
#: How much of a bad value an error quotes.
SHOWN_LENGTH = 80

#: Control characters never belong in an id or a name (a NUL cannot even be stored in
#: PostgreSQL text); lone surrogates are bytes that were not UTF-8.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
NOT_UTF8 = re.compile(r"[\ud800-\udfff]")
# In prose (an alert's message, a reason) tabs and line breaks are fine, the rest is not.
_CONTROL_IN_PROSE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Either fault, in one search (the common case: nothing found, once).
_ANY_FAULT = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def shown(value: object) -> str:
    """``repr(value)``, cut to :data:`SHOWN_LENGTH` characters."""
    text = repr(value)
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 1] + "…"


def check_text(name: str, value: object, *, max_length: int, prose: bool = False) -> str:
    """Text of at most ``max_length`` characters, valid UTF-8, without control characters
    (``prose`` allows tabs and line breaks)."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, got {shown(value)}")
    if not _without(_ANY_FAULT, value):
        if NOT_UTF8.search(value):
            raise ValueError(f"{name} is not valid UTF-8 text, got {shown(value)}")
        if (_CONTROL_IN_PROSE if prose else CONTROL).search(value):
            raise ValueError(f"{name} must not contain control characters, got {shown(value)}")
    if len(value) > max_length:
        raise ValueError(f"{name} must be at most {max_length} characters, got {len(value)}")
    return value


def check_id(name: str, value: object) -> str:
    """A customer, store or product id: 1 to 64 characters once stripped of surrounding
    whitespace, no control characters."""
    stripped = value.strip() if isinstance(value, str) else value
    text = check_text(name, stripped, max_length=MAX_ID_LENGTH)
    if not text:
        raise ValueError(f"{name} must not be empty")
    return text


def check_ids(name: str, values: Sequence[object]) -> list[str]:
    """:func:`check_id` of each value (the same ids, or the same error for the first bad
    one), in one pass over the lot when all are fine: a batch holds thousands."""
    if fine_ids(values):
        return list(values)  # type: ignore[arg-type]
    return [check_id(name, value) for value in values]


def fine_ids(values: Sequence[object]) -> bool:
    """Whether every value is an id :func:`check_id` takes as it is (no surrounding
    whitespace either), judged in one pass over the distinct values."""
    try:
        distinct = list(set(values))
    except TypeError:  # something unhashable, so not text
        return False
    return (
        set(map(type, distinct)) <= {str}
        and _without(_ANY_FAULT, "".join(distinct))  # type: ignore[arg-type]
        and min(map(len, distinct), default=1) > 0  # type: ignore[arg-type]
        and max(map(len, distinct), default=0) <= MAX_ID_LENGTH  # type: ignore[arg-type]
        and list(map(str.strip, distinct)) == distinct  # type: ignore[arg-type]
    )


def printable(text: str) -> bool:
    """Printable ASCII only (so no control character, tab, line break or surrogate)."""
    return text.isascii() and text.isprintable()


def check_whole(name: str, value: object, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number (not a bool, not a float) from ``minimum`` to ``maximum``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got {shown(value)}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value


def check_number(name: str, value: object) -> float:
    """A finite number (NaN and infinities are refused: JSONB cannot hold them), and no
    larger than :data:`MAX_EXACT_INTEGER` either way (a JSON reader's doubles keep it exact)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not -MAX_EXACT_INTEGER <= value <= MAX_EXACT_INTEGER:
        raise ValueError(
            f"{name} must be at most {MAX_EXACT_INTEGER} either way, got {shown(value)}"
        )
    return value


def check_json(name: str, value: object, *, max_chars: int, max_depth: int, max_items: int) -> Any:
    """Plain JSON (objects with text keys, lists, text, finite numbers, booleans, null) at
    most ``max_depth`` levels deep, with at most ``max_items`` values and ``max_chars``
    characters of keys and text (a number counts 8) in all; returned as it is."""
    if _plainly_fine(value, max_chars=max_chars, max_depth=max_depth, max_items=max_items):
        return value
    # The exact reason (or, rarely, a value the quick look doubted), value by value.
    budget = {"items": max_items, "chars": max_chars}

    def spend(items: int, chars: int) -> None:
        budget["items"] -= items
        budget["chars"] -= chars
        if budget["items"] < 0 or budget["chars"] < 0:
            raise ValueError(
                f"{name} is too large (at most {max_items} values, {max_chars} characters)"
            )

    def walk(item: object, depth: int, where: str) -> None:
        if item is None or isinstance(item, bool):
            spend(1, 4)
        elif isinstance(item, int | float):
            check_number(where, item)
            spend(1, 8)
        elif isinstance(item, str):
            check_text(where, item, max_length=max_chars, prose=True)
            spend(1, len(item))
        elif isinstance(item, Mapping | list):
            if depth >= max_depth:
                raise ValueError(f"{where} is nested deeper than {max_depth} levels")
            spend(1, 2)
            if isinstance(item, list):
                for index, each in enumerate(item):
                    walk(each, depth + 1, f"{where}[{index}]")
                return
            for key, each in item.items():
                check_text(f"a key of {where}", key, max_length=MAX_ID_LENGTH)
                spend(0, len(key))
                walk(each, depth + 1, f"{where}.{key}")
        else:
            raise ValueError(f"{where} must be plain JSON, got {type(item).__name__}")

    walk(value, 0, name)
    return value


#: The types of a value that holds no other (a leaf of a JSON document).
LEAVES = frozenset({str, int, float, bool, type(None)})


def _plainly_fine(value: object, *, max_chars: int, max_depth: int, max_items: int) -> bool:
    """A quick look for :func:`check_json`: True only if every rule surely holds. It walks
    the value a level at a time (no call per value) gathering the keys, text and numbers,
    and judges them in bulk, instead of one by one; an object of plain values (a finding's
    metadata) in one step."""
    if (
        type(value) is dict
        and max_depth >= 1
        and len(value) < max_items
        and set(map(type, value.values())) <= LEAVES
    ):
        leaves = value.values()
        return judged(
            list(value),
            [item for item in leaves if type(item) is str],
            [item for item in leaves if type(item) is float or type(item) is int],
            nodes=len(value) + 1,
            max_chars=max_chars,
        )
    keys: list[Any] = []
    texts: list[str] = []
    numbers: list[Any] = []
    nodes = 0
    level: list[Any] = [value]
    for depth in range(max_depth + 1):
        nodes += len(level)
        if nodes > max_items:
            return False
        below: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is str:
                texts.append(item)
            elif kind is float or kind is int:
                numbers.append(item)
            elif kind is dict or kind is list:
                if depth >= max_depth:
                    return False
                if kind is dict:
                    keys.extend(item)
                    below.extend(item.values())
                else:
                    below.extend(item)
            elif item is not None and kind is not bool:
                return False
        if not below:
            break
        level = below
    return judged(keys, texts, numbers, nodes=nodes, max_chars=max_chars)


def judged(
    keys: list[Any], texts: list[str], numbers: list[Any], *, nodes: int, max_chars: int
) -> bool:
    """Whether a value of ``nodes`` values with these keys, text and numbers surely follows
    :func:`check_json`'s rules."""
    if not set(map(type, keys)) <= {str}:
        return False
    joined_keys, joined_texts = "".join(keys), "".join(texts)
    chars = len(joined_keys) + len(joined_texts) + 8 * len(numbers) + 4 * nodes
    return (
        chars <= max_chars
        and max(map(len, keys), default=0) <= MAX_ID_LENGTH
        and _without(_ANY_FAULT, joined_keys)
        and _without(_CONTROL_IN_PROSE, joined_texts)
        and _without(NOT_UTF8, joined_texts)
        # In range first (isfinite cannot take a huge int); a NaN that min and max pass
        # over is then caught by isfinite.
        and min(numbers, default=0) >= -MAX_EXACT_INTEGER
        and max(numbers, default=0) <= MAX_EXACT_INTEGER
        and all(map(math.isfinite, numbers))
    )


def _without(pattern: re.Pattern[str], text: str) -> bool:
    """No match of ``pattern`` (control characters, surrogates) in ``text``: printable
    ASCII, the common case, holds neither (a test in C, far quicker than the search)."""
    return printable(text) or not pattern.search(text)
