"""Workers' database sessions on a real PostgreSQL: autocommit sessions hold no transaction,
and a pooled connection killed while idle is replaced before use."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from shelfops_alerts import db
from shelfops_alerts.config import Settings

_STATE = text("SELECT state FROM pg_stat_activity WHERE pid = :pid")


def test_an_autocommit_session_holds_no_transaction_and_gives_its_connection_back_clean(
    settings: Settings,
) -> None:
    # Given a worker's autocommit session that has run a statement
    reads = db.session_factory(settings, worker=True, autocommit=True)
    with reads() as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        raw = session.connection().connection.dbapi_connection
        # Then its backend is idle, not idle in a transaction
        with db.get_engine(settings).connect() as observer:
            assert observer.execute(_STATE, {"pid": pid}).scalar_one() == "idle"
    # When its connection goes back to the pool
    # Then it is out of autocommit again, so the next session on it is transactional
    assert raw is not None
    assert raw.autocommit is False


def test_only_workers_have_autocommit_sessions(settings: Settings) -> None:
    with pytest.raises(ValueError, match="workers"):
        db.session_factory(settings, autocommit=True)


def test_a_connection_killed_while_idle_is_replaced_before_use(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a worker's pooled connection whose backend is terminated while it sits idle
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.05)
    factory = db.session_factory(settings, worker=True)
    with factory() as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with db.get_engine(settings).connect() as killer:
        killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    time.sleep(0.1)
    # When a session is used after the idle threshold
    with factory() as session:
        # Then it runs on a new connection instead of failing
        assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
