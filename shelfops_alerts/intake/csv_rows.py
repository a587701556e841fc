"""Reading import CSV files: the header and every value checked, one clean tuple per row.

Pure: no database. :func:`read_rows` turns the text of a file into tuples of typed values in
the order of its :class:`CsvSpec`'s columns, and raises :class:`CsvImportError` at the first
bad row, naming the line (the header is line 1) and what is wrong with it.

What a file may hold:

- A header row naming the columns, in any order, case-insensitive. A required column that is
  missing, a name given twice or a name the spec does not know is an error (an unknown column
  is more likely a typo than something safe to ignore).
- Values are stripped of surrounding whitespace. An optional column that is absent, or whose
  cell is empty, takes its default.
- Rows with only empty cells (blank lines, the ``,,,`` rows spreadsheets leave) are skipped.
- The same key (the spec's first ``key_size`` columns) twice in one file is an error naming
  the earlier line: which of the two was meant is not ours to guess.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shelfops_alerts.payloads.values import (
    CONTROL,
    MAX_RUN_ID_LENGTH,
    NOT_UTF8,
    check_id,
    check_text,
)
from shelfops_alerts.vocabulary import CRITICAL, SEVERITIES

#: Longest e-mail address (RFC 5321 path limit), the width of ``alert_recipients.email``.
MAX_EMAIL_LENGTH = 254
#: Severity a recipient gets e-mail from when the file does not say.
DEFAULT_MIN_SEVERITY = CRITICAL

# Ids and run ids follow the rules every input shares (payloads.values): no control
# characters, and no lone surrogates, which are bytes that were not UTF-8 (files are opened
# with errors="surrogateescape" so the bad line can be named exactly).
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
# Joins key parts for the duplicate check; it cannot occur inside a checked value.
_KEY_SEPARATOR = "\x1f"


class CsvImportError(ValueError):
    """A file cannot be imported; ``line`` is its line number (the header is line 1)."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        super().__init__(f"{self.path.name} line {line}: {reason}")


class InvalidValue(ValueError):
    """Raised by a column's parser; the message is the reason, naming the column."""


def parse_id(name: str, raw: str) -> str:
    """A customer, store or product id: 1 to 64 characters, no control characters."""
    try:
        return check_id(name, raw)
    except ValueError as exc:
        raise InvalidValue(str(exc)) from None


def parse_run_id(name: str, raw: str) -> str:
    """A forecast run id: up to 128 characters, no control characters."""
    try:
        return check_text(name, raw, max_length=MAX_RUN_ID_LENGTH)
    except ValueError as exc:
        raise InvalidValue(str(exc)) from None


def parse_quantity(name: str, raw: str) -> float:
    """A stock level or a demand: a finite number, zero or more."""
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise InvalidValue(f"{name} must be a number >= 0, got {raw!r}")
    return value + 0.0  # turns -0.0 into 0.0


def parse_date(name: str, raw: str) -> dt.date:
    """A calendar day written YYYY-MM-DD (other ISO 8601 forms are refused)."""
    try:
        if _ISO_DATE.fullmatch(raw):
            return dt.date.fromisoformat(raw)
    except ValueError:
        pass
    raise InvalidValue(f"{name} must be a date written YYYY-MM-DD, got {raw!r}")


def parse_email(name: str, raw: str) -> str:
    """An e-mail address: one @ with text either side, no whitespace, at most 254 characters."""
    if (
        len(raw) > MAX_EMAIL_LENGTH
        or not _EMAIL.fullmatch(raw)
        or CONTROL.search(raw)
        or NOT_UTF8.search(raw)
    ):
        raise InvalidValue(
            f"{name} must be an e-mail address (one @, no whitespace,"
            f" at most {MAX_EMAIL_LENGTH} characters), got {raw!r}"
        )
    return raw


def parse_severity(name: str, raw: str) -> str:
    """One of low, medium, high, critical (any case)."""
    value = raw.lower()
    if value not in SEVERITIES:
        raise InvalidValue(f"{name} must be one of {', '.join(SEVERITIES)}, got {raw!r}")
    return value


_REQUIRED: Any = object()


@dataclass(frozen=True)
class Column:
    """One column of a file: its header name, how to read a cell, and its default if optional."""

    name: str
    parse: Callable[[str, str], Any]
    default: Any = _REQUIRED

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


@dataclass(frozen=True)
class CsvSpec:
    """The columns of one kind of file; the first ``key_size`` identify a row."""

    kind: str
    columns: tuple[Column, ...]
    key_size: int
    #: Checks a parsed row as a whole (values in column order); raises InvalidValue.
    check_row: Callable[[tuple[Any, ...]], None] | None = None

    def describe(self) -> str:
        """The header as documented, optional columns in brackets."""
        return "".join(f",{c.name}" if c.required else f"[,{c.name}]" for c in self.columns).lstrip(
            ","
        )


_IDS = (
    Column("customer_id", parse_id),
    Column("store_id", parse_id),
    Column("product_id", parse_id),
)
INVENTORY = CsvSpec(
    kind="inventory",
    columns=(*_IDS, Column("on_hand", parse_quantity), Column("on_order", parse_quantity, 0.0)),
    key_size=3,
)
FORECASTS = CsvSpec(
    kind="forecasts",
    columns=(
        *_IDS,
        Column("date", parse_date),
        Column("forecasted_demand", parse_quantity),
        Column("run_id", parse_run_id, None),
    ),
    key_size=4,
)
RECIPIENTS = CsvSpec(
    kind="recipients",
    columns=(
        Column("customer_id", parse_id),
        Column("email", parse_email),
        Column("min_severity", parse_severity, DEFAULT_MIN_SEVERITY),
    ),
    key_size=2,
)


@dataclass(frozen=True)
class Layout:
    """Where a file's header puts the spec's columns: for each spec column, its position in
    the header (None when an optional column is absent), and the header's width."""

    spec: CsvSpec
    positions: tuple[int | None, ...]
    width: int

    @property
    def plan(self) -> list[tuple[Column, int | None]]:
        return list(zip(self.spec.columns, self.positions, strict=True))

    def in_header_order(self) -> list[Column]:
        """The spec's columns present in the header, in the header's order."""
        by_position = {at: column for column, at in self.plan if at is not None}
        return [by_position[at] for at in sorted(by_position)]


def read_header(spec: CsvSpec, header: list[str]) -> Layout:
    """The layout a header row gives; raises :class:`InvalidValue` naming its problem."""
    names = [name.strip().lower() for name in header]
    names[0] = names[0].removeprefix("\ufeff").strip()
    known = {column.name for column in spec.columns}
    if not known.intersection(names):
        raise InvalidValue(f"missing header row: expected {spec.describe()}")
    problems = []
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        problems.append(f"column(s) named more than once: {', '.join(twice)}")
    missing = [c.name for c in spec.columns if c.required and c.name not in names]
    if missing:
        problems.append(f"missing required column(s): {', '.join(missing)}")
    unknown = [name for name in names if name not in known]
    if unknown:
        problems.append(f"unknown column(s): {', '.join(map(repr, unknown))}")
    if problems:
        raise InvalidValue(f"{'; '.join(problems)} (expected {spec.describe()})")
    positions = tuple(names.index(c.name) if c.name in names else None for c in spec.columns)
    return Layout(spec=spec, positions=positions, width=len(names))


def _values(plan: list[tuple[Column, int | None]], row: list[str]) -> tuple[Any, ...]:
    values = []
    for column, index in plan:
        raw = "" if index is None else row[index].strip()
        values.append(column.parse(column.name, raw) if raw or column.required else column.default)
    return tuple(values)


def _is_blank(row: list[str]) -> bool:
    return not any(cell.strip() for cell in row)


def read_rows(
    lines: Iterable[str], *, spec: CsvSpec, path: Path | str
) -> Iterator[tuple[Any, ...]]:
    """Each data row of a CSV text as a tuple of values in ``spec.columns`` order.

    ``lines`` is a text file opened with ``newline=""`` (or any iterable of lines); ``path``
    only names the file in errors. Raises :class:`CsvImportError` at the first bad row, so a
    caller that consumes every row before writing anything keeps nothing of a bad file.
    """
    for _, values in read_records(lines, spec=spec, path=path):
        yield values


def read_records(
    lines: Iterable[str],
    *,
    spec: CsvSpec,
    path: Path | str,
    layout: Layout | None = None,
    first_line: int = 1,
    check_duplicates: bool = True,
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """``(line, values)`` for each data row: :func:`read_rows` with the line numbers.

    With ``layout`` the header has been read already and ``lines`` starts on line
    ``first_line`` after it. ``check_duplicates=False`` leaves duplicate keys to the caller
    (the import finds them in the database, so memory does not grow with the file).
    """
    reader = csv.reader(lines, strict=True)
    plan = layout.plan if layout is not None else []
    width = layout.width if layout is not None else 0
    first_column = (plan[0][1] or 0) if plan else 0
    seen: dict[str, int] = {}  # key of each row so far -> its line, to name a duplicate's twin
    end = first_line - 1  # the line the previous record ended on (quoted newlines span lines)
    while True:
        line = end + 1
        try:
            row = next(reader, None)
            if row is None:
                return
            end = first_line - 1 + reader.line_num
            # Cheap test first: a blank row has no customer_id (or the wrong width).
            if (not plan or len(row) != width or not row[first_column].strip()) and _is_blank(row):
                continue
            if not plan:
                layout = read_header(spec, row)
                plan, width, first_column = layout.plan, layout.width, _first_column(layout)
                continue
            if len(row) != width:
                raise InvalidValue(f"expected {width} fields as in the header, got {len(row)}")
            values = _values(plan, row)
            if spec.check_row is not None:
                spec.check_row(values)
            if check_duplicates:
                key = _KEY_SEPARATOR.join(map(str, values[: spec.key_size]))
                first = seen.setdefault(key, line)
                if first != line:
                    raise InvalidValue(duplicate_reason(spec, values, first))
        except InvalidValue as exc:
            raise CsvImportError(path, line, str(exc)) from None
        except csv.Error as exc:
            raise CsvImportError(path, line, f"malformed CSV: {exc}") from None
        yield line, values


def _first_column(layout: Layout) -> int:
    """The header position of the spec's first column (the customer id)."""
    return layout.positions[0] or 0


def duplicate_reason(spec: CsvSpec, key: Sequence[Any], first_line: int) -> str:
    """The error for a row whose key (the spec's first ``key_size`` values) came before."""
    names = ",".join(c.name for c in spec.columns[: spec.key_size])
    shown = ",".join(map(str, key[: spec.key_size]))
    return f"duplicate {names} {shown!r}, first given on line {first_line}"


def read_file(path: Path, *, spec: CsvSpec) -> Iterator[tuple[Any, ...]]:
    """:func:`read_rows` over a file on disk: UTF-8, with or without a byte order mark."""
    # surrogateescape keeps undecodable bytes as lone surrogates, so the values holding them
    # fail on their own line instead of the whole file failing at some read-ahead offset.
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as lines:
        yield from read_rows(lines, spec=spec, path=path)
