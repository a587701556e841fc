"""The few database calls an import makes, on a SQLAlchemy session or a bare psycopg2 connection.

The library's callers hand an import their ``Session`` (they own the transaction). The
``import`` command needs nothing else of SQLAlchemy, whose loading is most of a command's
start (about 0.45 of 0.7 CPU seconds, a sixth of a 1M-row stock import), so it runs the
import on a psycopg2 connection of its own instead. Either way statements are written with
``:name`` parameters, and a failed statement raises the driver's own error
(``psycopg2.errors.UniqueViolation``, …), whichever kind of connection ran it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from psycopg2.extensions import connection as PgConnection
    from sqlalchemy.orm import Session

Row = tuple[Any, ...]

_NAMED = re.compile(r"(?<![:\w]):(\w+)")


class ImportDb:
    """Statements, savepoints and a raw cursor (for COPY) on a psycopg2 connection; the
    caller owns the transaction."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._savepoints = 0

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        """Run ``sql``; the rows it returns (none for a statement that returns none)."""
        with self._connection.cursor() as cursor:
            if params:
                cursor.execute(pyformat(sql), params)
            else:
                cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    def value(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        """The first column of the one row ``sql`` returns."""
        return self.rows(sql, params)[0][0]

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A savepoint: released at the end of the block, rolled back if it raises."""
        self._savepoints += 1
        name = f"shelfops_import_{self._savepoints}"
        self.rows(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.rows(f"ROLLBACK TO SAVEPOINT {name}")
            raise
        self.rows(f"RELEASE SAVEPOINT {name}")

    def cursor(self) -> Any:
        """A raw psycopg2 cursor (for ``copy_expert``); the caller closes it."""
        return self._connection.cursor()


class SessionImportDb(ImportDb):
    """The same calls through a SQLAlchemy session (its events and transaction)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError

        try:
            result = self._session.execute(text(sql), params or {})
        except DBAPIError as exc:
            if exc.orig is None:
                raise
            raise exc.orig from exc
        return [tuple(row) for row in result] if cast(Any, result).returns_rows else []

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        with self._session.begin_nested():
            yield

    def cursor(self) -> Any:
        return self._session.connection().connection.cursor()


def pyformat(sql: str) -> str:
    """``sql`` with its ``:name`` parameters as psycopg2 takes them (``%(name)s``; a ``%``
    of the text doubled, ``::`` casts kept)."""
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


def import_db(connection: Session | PgConnection) -> ImportDb:
    """An :class:`ImportDb` for a SQLAlchemy ``Session`` or a psycopg2 connection."""
    if hasattr(connection, "begin_nested"):
        return SessionImportDb(connection)
    return ImportDb(connection)
