"""Counting the statements code sends to PostgreSQL through SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker


@contextmanager
def counting_statements(db: sessionmaker[Session]) -> Iterator[list[str]]:
    """Every statement sent through SQLAlchemy while the block runs (COPY, sent on the raw
    psycopg2 cursor, is not among them: it is always exactly one)."""
    engine = db.kw["bind"]
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
