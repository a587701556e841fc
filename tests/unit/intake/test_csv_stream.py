"""The stream COPY reads: plain chunks passed through, the rest read row by row, same rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest

from shelfops_alerts.intake.csv_rows import (
    FORECASTS,
    INVENTORY,
    RECIPIENTS,
    CsvImportError,
    CsvSpec,
    parse_date,
    parse_id,
    parse_quantity,
    parse_run_id,
    read_rows,
)
from shelfops_alerts.intake.csv_stream import CELL_PATTERNS, CopySource

FORECAST_HEADER = "customer_id,store_id,product_id,date,forecasted_demand,run_id\n"


def write(tmp_path: Path, content: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def streamed(path: Path, spec: CsvSpec, chunk_bytes: int = 64) -> tuple[CopySource, bytes]:
    """Everything COPY would receive, read in small chunks."""
    source = CopySource(path, spec, chunk_bytes=chunk_bytes)
    with source:
        data = b"".join(iter(lambda: source.read(1 << 16), b""))
    return source, data


def as_values(source: CopySource, data: bytes, spec: CsvSpec) -> list[tuple[Any, ...]]:
    """COPY's view of the stream, turned back into typed values in the spec's order."""
    text = data.decode("utf-8").replace("\r\n", "\n")
    rows = []
    for cells in csv.reader(io.StringIO(text, newline="")):
        by_name = dict(zip(source.columns, cells, strict=True))
        values = []
        for column in spec.columns:
            raw = by_name.get(column.name, "")
            if raw == "":
                values.append(None if column.required else column.default)
            elif column.parse is parse_quantity:
                values.append(float(raw))
            elif column.parse is parse_date:
                values.append(dt.date.fromisoformat(raw))
            else:
                values.append(raw)
        rows.append(tuple(values))
    return rows


def test_plain_file_passes_through_untouched(tmp_path: Path) -> None:
    """Given a machine-written forecast file, when streamed,
    then COPY receives its data lines byte for byte, and rows and customers are counted."""
    lines = "".join(f"c{n % 2},s1,p{n},2026-03-0{1 + n % 9},{n}.5,run-1\n" for n in range(40))
    path = write(tmp_path, FORECAST_HEADER + lines)

    source, data = streamed(path, FORECASTS)

    assert data == lines.encode()
    assert source.rows == 40
    assert source.customers == {"c0", "c1"}
    assert [source.line_of(n) for n in (1, 40)] == [2, 41]


def test_mixed_file_reads_as_the_row_reader_reads_it(tmp_path: Path) -> None:
    """Given plain chunks, then a quoted id, blank rows, an exponent and padded cells, then
    plain chunks again, when streamed in small chunks,
    then COPY receives exactly the rows (and values) the row reader gives, in order."""
    plain = "".join(f"c1,s1,p{n},2026-03-01,{n},r\n" for n in range(30))
    odd = 'c1,"s,2",q1,2026-03-02,1e2,r\n\n,,,,,\nc1, s3 ,q2,2026-03-03, 4 ,\n'
    content = FORECAST_HEADER + plain + odd + plain.replace("p", "x")
    path = write(tmp_path, content)

    source, data = streamed(path, FORECASTS)

    expected = list(read_rows(io.StringIO(content, newline=""), spec=FORECASTS, path=path))
    assert as_values(source, data, FORECASTS) == expected
    assert source.rows == len(expected) == 62


def test_line_of_counts_the_blank_rows_the_stream_skipped(tmp_path: Path) -> None:
    """Given blank rows between data rows, when streamed,
    then each row's ordinal maps back to its own line of the file."""
    content = "customer_id,store_id,product_id,on_hand\nc1,s1,p1,1\n\n,,,\nc1,s1,p2,2\nc1,s1,p3,3\n"
    source, _ = streamed(write(tmp_path, content), INVENTORY)

    assert [source.line_of(n) for n in (1, 2, 3)] == [2, 5, 6]


def test_bad_row_in_a_later_chunk_is_named_by_its_line(tmp_path: Path) -> None:
    """Given 50 good rows and a negative stock on line 52, when streamed in small chunks,
    then reading fails on line 52 with the row reader's reason, and the error is kept."""
    good = "".join(f"c1,s1,p{n},{n}\n" for n in range(50))
    path = write(tmp_path, "customer_id,store_id,product_id,on_hand\n" + good + "c1,s1,px,-3\n")
    source = CopySource(path, INVENTORY, chunk_bytes=64)

    with pytest.raises(CsvImportError) as caught, source:
        while source.read(1 << 16):
            pass

    assert (caught.value.line, caught.value.reason) == (
        52,
        "on_hand must be a number >= 0, got '-3'",
    )
    assert source.error is caught.value


def test_small_bad_file_is_refused_before_the_database_is_touched(tmp_path: Path) -> None:
    """Given a small file with a bad row, when asked whether it has rows (the import's first
    step, before any statement), then the bad row is reported already."""
    path = write(tmp_path, "customer_id,store_id,product_id,on_hand\nc1,s1,p1,x\n")

    with pytest.raises(CsvImportError) as caught, CopySource(path, INVENTORY) as source:
        source.has_rows()

    assert caught.value.line == 2


@pytest.mark.parametrize(
    "content",
    [
        b"\xef\xbb\xbfcustomer_id,store_id,product_id,on_hand\r\nc1,s1,p1,1\r\nc1,s1,p2,2\r\n",
        b"customer_id,store_id,product_id,on_hand\nc1,s1,p1,1\nc1,s1,p2,2",
        "customer_id,store_id,product_id,on_hand\nc1,s1,café,1\nc1,s1,p2,2\n".encode(),
        b"\n\ncustomer_id,store_id,product_id,on_hand\nc1,s1,p1,1\nc1,s1,p2,2\n",
        b'"customer_id",store_id,product_id,on_hand\nc1,s1,p1,1\nc1,s1,p2,2\n',
    ],
    ids=["bom-crlf", "no-final-newline", "not-ascii", "blank-lines-first", "quoted-header"],
)
def test_files_of_every_shape_give_the_row_readers_rows(tmp_path: Path, content: bytes) -> None:
    """Given a byte order mark with CRLF, a missing last newline, non-ASCII ids, blank lines
    before the header or a quoted header, when streamed, then the rows are the reader's."""
    path = write(tmp_path, content)

    source, data = streamed(path, INVENTORY, chunk_bytes=16)

    with open(path, encoding="utf-8-sig", newline="") as lines:
        expected = list(read_rows(lines, spec=INVENTORY, path=path))
    assert as_values(source, data, INVENTORY) == expected
    assert len(expected) == 2
    # COPY needs one line ending throughout
    assert data.count(b"\r\n") in (0, data.count(b"\n"))


def test_customers_are_found_in_any_column(tmp_path: Path) -> None:
    """Given a file whose customer_id is its third column, when streamed, then every
    customer is found."""
    content = "store_id,product_id,customer_id,on_hand\n" + "".join(
        f"s1,p{n},c{n % 3},1\n" for n in range(9)
    )
    source, _ = streamed(write(tmp_path, content), INVENTORY)

    assert source.customers == {"c0", "c1", "c2"}


def test_header_problem_is_line_1(tmp_path: Path) -> None:
    """Given a header without on_hand, when the stream is made, then it fails on line 1."""
    path = write(tmp_path, "customer_id,store_id,product_id\nc1,s1,p1\n")

    with pytest.raises(CsvImportError) as caught:
        CopySource(path, INVENTORY)

    assert caught.value.line == 1
    assert "missing required column(s): on_hand" in caught.value.reason


def test_spec_without_cell_patterns_is_read_row_by_row(tmp_path: Path) -> None:
    """Given a recipients file (e-mail addresses have no cell pattern), when streamed,
    then the row reader writes its rows, defaults filled in."""
    content = "customer_id,email\nc1,a@x.example\nc1,b@x.example\n"
    source, data = streamed(write(tmp_path, content), RECIPIENTS)

    assert data == b"c1,a@x.example\nc1,b@x.example\n"  # min_severity: NULL, then the default
    assert as_values(source, data, RECIPIENTS) == [
        ("c1", "a@x.example", "critical"),
        ("c1", "b@x.example", "critical"),
    ]


SAMPLES = [
    "p1", "P 1", " p1", "p1 ", "p\t1", "", "x" * 64, "x" * 65, "café", "p1\u00a0", "a,b",
    '"p"', "0", "7", "007", "1.5", "1.", ".5", "-1", "-0", "1e3", "inf", "nan", "1_000",
    "१२", "9" * 15, "9" * 16, "2026-03-01", "2026-02-29", "2028-02-29", "2000-02-29",
    "1900-02-29", "2026-02-30", "2026-04-31", "2026-13-01", "0000-01-01", "2026-3-1",
]  # fmt: skip


@pytest.mark.parametrize(
    "parse", [parse_id, parse_run_id, parse_quantity, parse_date], ids=lambda p: p.__name__
)
def test_a_cell_pattern_only_accepts_what_its_parser_stores_as_written(parse: Any) -> None:
    """Given tricky cells, when one matches its column's pattern, then the parser accepts it
    and stores it as written (so the fast and the exact reader agree)."""
    pattern = re.compile(CELL_PATTERNS[parse])
    matched = [sample for sample in SAMPLES if pattern.fullmatch(sample)]

    for sample in matched:
        value = parse("cell", sample)
        if parse is parse_quantity:
            assert value == float(sample) and sample.replace(".", "").isdigit()
        else:
            assert str(value) == sample
    assert matched, "the pattern should accept the plain samples"
