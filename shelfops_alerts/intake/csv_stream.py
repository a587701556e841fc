"""A CSV file as the bytes PostgreSQL's ``COPY`` reads: checked on the way, in bounded memory.

The import hands a :class:`CopySource` to ``COPY ... FROM STDIN``, so reading the file and
the database's work overlap and nothing ever holds the whole file. Two readers share it:

* **Chunks of plain lines** (the usual machine-written file): a chunk of whole lines is
  checked by one regular expression built from the header, each cell by its column's
  pattern (:data:`CELL_PATTERNS`), and passed to COPY untouched — no Python work per row.
* **Everything else** (quoted values, blank rows, exponents, a bad row): the exact row
  reader (:func:`~shelfops_alerts.intake.csv_rows.read_records`) takes over from the first
  chunk that does not match to the end of the file, writes the rows it accepts as CSV, and
  names the first bad row by its line.

A cell pattern only accepts text its column's parser accepts *and* stores as written (no
surrounding space, no exponent, a real calendar day), so a file is imported exactly the
same whichever reader took a chunk.

Duplicate keys are not looked for here — that would hold a key per row in memory; the
import finds them in the database, and :meth:`CopySource.line_of` turns the position of a
row (its ordinal, from 1) back into its line in the file.
"""

from __future__ import annotations

import bisect
import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from shelfops_alerts.intake.csv_rows import (
    CsvImportError,
    CsvSpec,
    InvalidValue,
    Layout,
    parse_date,
    parse_id,
    parse_quantity,
    parse_run_id,
    read_header,
    read_records,
)

#: Bytes read from the file at a time (and roughly handed to COPY at a time).
CHUNK_BYTES = 1 << 20

_BOM = b"\xef\xbb\xbf"
# Possessive quantifiers (no backtracking) keep a chunk's check near 3 million lines a second.
_FIRST = r'[^\s,"\x00-\x1f\x7f]'
_MORE = r'[^,"\x00-\x1f\x7f]'
_DAY = (
    r"(?!0000)[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    # 29 February of a leap year
    r"|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29"
)

#: For each cell parser, a pattern of text it accepts and stores as written: an id within
#: its length, without control characters or surrounding space; a plain decimal number.
CELL_PATTERNS: dict[Callable[[str, str], Any], str] = {
    parse_id: f"{_FIRST}{_MORE}{{0,63}}+(?<!\\s)",
    parse_run_id: f"{_FIRST}{_MORE}{{0,127}}+(?<!\\s)",
    parse_quantity: r"[0-9]{1,15}+(?:\.[0-9]{1,15}+)?+",
    parse_date: f"(?:{_DAY})",
}


def line_pattern(layout: Layout, terminator: str) -> str | None:
    """A whole line of the file as a pattern, cells in header order; None when a column has
    no cell pattern or the spec checks rows as a whole (those files take the exact reader)."""
    if layout.spec.check_row is not None or layout.width < 2:
        # (a one-cell line may be "\.", which COPY reads as the end of the data)
        return None
    by_position = {at: column for column, at in layout.plan if at is not None}
    cells = []
    for at in range(layout.width):
        column = by_position[at]
        pattern = CELL_PATTERNS.get(column.parse)
        if pattern is None:
            return None
        # An optional cell may be empty: COPY reads it as NULL, which the import's statement
        # turns into the column's default.
        cells.append(f"(?:{pattern})" if column.required else f"(?:{pattern})?+")
    return ",".join(cells) + re.escape(terminator)


class CopySource:
    """The file's data rows as CSV for COPY, through ``read(size)``.

    Made from a path, it reads the header at once (a bad one raises
    :class:`CsvImportError`); ``columns`` are the spec's column names in the order COPY
    receives them. A bad row makes ``read`` raise; as the driver reports that as a failed
    COPY, the error is also kept in ``error`` for the caller to raise. After COPY: ``rows``
    sent, ``customers`` seen, :meth:`line_of`. ``on_progress(bytes_read, total_bytes,
    rows)`` is called as it goes.
    """

    def __init__(
        self,
        path: Path,
        spec: CsvSpec,
        *,
        on_progress: Callable[[int, int, int], None] | None = None,
        chunk_bytes: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.spec = spec
        self.rows = 0
        self.customers: set[str] = set()
        self.error: CsvImportError | None = None
        self._on_progress = on_progress
        self._chunk_bytes = chunk_bytes or CHUNK_BYTES
        self._total = self.path.stat().st_size
        self._file = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        self._text: io.TextIOWrapper | None = None
        self._pending = b""  # read ahead by has_rows(), not yet handed out
        self._rest = b""  # the part of the last read after its last whole line
        self._offsets: list[tuple[int, int]] = []  # (first ordinal, line - ordinal)
        self._exact: Iterator[tuple[int, tuple[Any, ...]]] | None = None
        self._done = False
        try:
            self._read_header()
        except BaseException:
            self.close()
            raise
        self.columns = [column.name for column in self.layout.in_header_order()]
        self._order = [
            index
            for index, at in sorted(enumerate(self.layout.positions), key=lambda p: p[1] or 0)
            if at is not None
        ]

    # -- the header ---------------------------------------------------------------------

    def _read_header(self) -> None:
        first = self._file.readline()
        self._terminator = "\r\n" if first.endswith(b"\r\n") else "\n"
        text = first.removeprefix(_BOM).decode("utf-8", errors="surrogateescape")
        cells = text.rstrip("\r\n").split(",")
        plain = first.endswith(b"\n") and not re.search(r'["\r]', text.rstrip("\r\n"))
        self._fast: re.Pattern[bytes] | None = None
        if plain and any(cell.strip() for cell in cells):
            try:
                self.layout = read_header(self.spec, cells)
            except InvalidValue as exc:
                raise CsvImportError(self.path, 1, str(exc)) from None
            self._line = 2  # the line the next chunk starts on
            self._offset = len(first)  # the file offset it starts at
            pattern = line_pattern(self.layout, self._terminator)
            if pattern is not None:
                self._fast = re.compile(f"(?:{pattern})*+".encode())
                self._fast_text = re.compile(f"(?:{pattern})*+")
            return
        # Blank lines before the header, or a quoted header: the exact reader takes the file.
        self._file.seek(len(_BOM) if first.startswith(_BOM) else 0)
        self._text = io.TextIOWrapper(
            self._file, encoding="utf-8", errors="surrogateescape", newline=""
        )
        self._terminator = "\n"
        reader = csv.reader(self._text, strict=True)
        line = 1
        try:
            for row in reader:
                if any(cell.strip() for cell in row):
                    self.layout = read_header(self.spec, row)
                    break
                line = reader.line_num + 1
            else:
                self.layout = read_header(self.spec, [c.name for c in self.spec.columns])
                self._done = True  # no header, no rows: an empty file
        except InvalidValue as exc:
            raise CsvImportError(self.path, line, str(exc)) from None
        except csv.Error as exc:
            raise CsvImportError(self.path, line, f"malformed CSV: {exc}") from None
        self._start_exact(first_line=reader.line_num + 1)

    # -- what the import calls ----------------------------------------------------------

    def has_rows(self) -> bool:
        """Whether the file holds any data row (reads ahead the first rows, so a small
        file is checked whole — and a bad one refused — before the database is touched)."""
        if not self._pending:
            self._pending = self._next_block()
        return bool(self._pending)

    def read(self, size: int = -1) -> bytes:
        """The next rows as CSV bytes (b"" at the end)."""
        if self._pending:
            block, self._pending = self._pending, b""
            return block
        try:
            return self._next_block()
        except CsvImportError as exc:
            self.error = exc
            raise

    def line_of(self, ordinal: int) -> int:
        """The line of the file the ``ordinal``-th row sent (from 1) came from."""
        at = bisect.bisect_right(self._offsets, (ordinal, float("inf"))) - 1
        return ordinal + self._offsets[at][1]

    def close(self) -> None:
        if self._text is not None:
            self._text.close()
        self._file.close()

    def __enter__(self) -> CopySource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------

    def _next_block(self) -> bytes:
        while not self._done:
            block = self._exact_block() if self._exact is not None else self._fast_block()
            self._progress()
            if block:
                return block
        return b""

    def _fast_block(self) -> bytes:
        data = self._file.read(self._chunk_bytes)
        buffer = self._rest + data
        if data:
            cut = buffer.rfind(b"\n") + 1
            chunk, self._rest = buffer[:cut], buffer[cut:]
            if not chunk:  # a line longer than a chunk: read on
                return b""
            sent = chunk
        else:
            self._done = True
            chunk, self._rest = buffer, b""
            if not chunk:
                return b""
            sent = chunk + self._terminator.encode()  # the last line had no end
        if self._checks(chunk):
            lines = sent.count(b"\n")
            self._note_rows(lines, first_line=self._line)
            self._collect_customers(sent)
            self._line += lines
            self._offset += len(chunk)
            return sent
        # From this chunk on, the exact reader reads the file.
        self._file.seek(self._offset)
        self._rest, self._done = b"", False
        self._text = io.TextIOWrapper(
            self._file, encoding="utf-8", errors="surrogateescape", newline=""
        )
        self._start_exact(first_line=self._line)
        return b""

    def _checks(self, chunk: bytes) -> bool:
        if self._fast is None:
            return False
        if chunk.isascii():
            return self._fast.fullmatch(chunk) is not None
        try:
            return self._fast_text.fullmatch(chunk.decode("utf-8")) is not None
        except UnicodeDecodeError:
            return False

    def _collect_customers(self, chunk: bytes) -> None:
        at = self.layout.positions[0] or 0
        if at == 0:
            # Most files hold one customer: when every line starts with the first line's
            # customer, there is nothing more to find.
            first = chunk[: chunk.index(b",") + 1]
            if chunk.count(b"\n" + first) + 1 == chunk.count(b"\n"):
                self.customers.add(first[:-1].decode())
                return
        found = re.findall(b"(?m)^(?=[^\r\n])" + b"[^,]*," * at + b"([^,\r\n]*)", chunk)
        self.customers.update(customer.decode() for customer in set(found))

    def _start_exact(self, *, first_line: int) -> None:
        assert self._text is not None
        self._exact = read_records(
            self._text,
            spec=self.spec,
            path=self.path,
            layout=self.layout,
            first_line=first_line,
            check_duplicates=False,
        )

    def _exact_block(self) -> bytes:
        assert self._exact is not None
        out = io.StringIO()
        writer = csv.writer(out, lineterminator=self._terminator)
        for line, values in self._exact:
            self._note_rows(1, first_line=line)
            self.customers.add(values[0])
            # None is written unquoted, which COPY reads as NULL
            writer.writerow([values[index] for index in self._order])
            if out.tell() >= self._chunk_bytes:
                break
        else:
            self._done = True
        return out.getvalue().encode("utf-8", errors="surrogateescape")

    def _note_rows(self, count: int, *, first_line: int) -> None:
        offset = first_line - (self.rows + 1)
        if not self._offsets or self._offsets[-1][1] != offset:
            self._offsets.append((self.rows + 1, offset))
        self.rows += count

    def _progress(self) -> None:
        if self._on_progress is not None:
            done = self._file.tell() if self._exact is not None else self._offset
            self._on_progress(min(done, self._total), self._total, self.rows)
