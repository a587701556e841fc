"""Which faults are transient, judged on real errors from a real PostgreSQL and Redis.

Each fault is produced the way production meets it (two transactions deadlocking, a
statement outliving its timeout, a session terminated by the server, a stalled Redis),
never constructed by hand, and then sorted by ``transient_reason``.
"""

from __future__ import annotations

import threading
import time

import pytest
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from shelfops_alerts.outages.faults import sqlstate, transient_reason
from shelfops_alerts.outages.redis_clients import redis_client
from tests.support.stalls import stopped


@pytest.fixture()
def engine(settings):
    """A private engine, so broken connections never reach the shared pool."""
    made = create_engine(settings.sqlalchemy_url.reveal(), pool_pre_ping=True)
    with made.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS fault_probe"))
        connection.execute(text("CREATE TABLE fault_probe (id int PRIMARY KEY, n int)"))
        connection.execute(text("INSERT INTO fault_probe VALUES (1, 0), (2, 0)"))
    yield made
    with made.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS fault_probe"))
    made.dispose()


def error_of(engine, *statements: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as raised, engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    return raised.value


def test_a_deadlock_is_transient(engine):
    # Given two transactions that each update one row, then the other's
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def cross(first: int, second: int) -> None:
        try:
            with engine.begin() as connection:
                connection.execute(text(f"UPDATE fault_probe SET n = n + 1 WHERE id = {first}"))
                barrier.wait()
                connection.execute(text(f"UPDATE fault_probe SET n = n + 1 WHERE id = {second}"))
        except DBAPIError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=cross, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # Then PostgreSQL picks one as the victim, and that fault is transient
    (victim,) = errors
    assert sqlstate(victim) == "40P01"
    assert transient_reason(victim) == "deadlock (40P01)"


def test_a_serialization_failure_is_transient(engine):
    # Given a repeatable-read transaction whose row another transaction changed meanwhile
    with engine.connect() as reader:
        reader.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        reader.execute(text("SELECT n FROM fault_probe WHERE id = 1"))
        with engine.begin() as writer:
            writer.execute(text("UPDATE fault_probe SET n = 5 WHERE id = 1"))
        # When it updates that row too
        with pytest.raises(DBAPIError) as raised:
            reader.execute(text("UPDATE fault_probe SET n = 6 WHERE id = 1"))
        reader.rollback()

    # Then the serialization failure is transient
    assert sqlstate(raised.value) == "40001"
    assert transient_reason(raised.value) == "serialization failure (40001)"


def test_statement_and_lock_timeouts_are_transient(engine):
    # A statement outliving statement_timeout
    slow = error_of(engine, "SET LOCAL statement_timeout = 50", "SELECT pg_sleep(2)")
    assert transient_reason(slow) == "statement timeout (57014)"

    # A statement waiting for a row lock longer than lock_timeout
    with engine.begin() as holder:
        holder.execute(text("SELECT * FROM fault_probe WHERE id = 1 FOR UPDATE"))
        waiter = error_of(
            engine, "SET LOCAL lock_timeout = 50", "UPDATE fault_probe SET n = 1 WHERE id = 1"
        )
    assert transient_reason(waiter) == "lock timeout (55P03)"


def test_a_session_the_server_ends_is_transient(engine):
    # Given a session waiting on a lock, When the server terminates it (as a restart does)
    with engine.begin() as holder:
        holder.execute(text("SELECT * FROM fault_probe WHERE id = 1 FOR UPDATE"))
        result: dict[str, BaseException] = {}

        def wait_on_the_lock() -> None:
            try:
                with engine.begin() as connection:
                    connection.execute(text("SET application_name = 'fault-victim'"))
                    connection.execute(text("UPDATE fault_probe SET n = 1 WHERE id = 1"))
            except DBAPIError as exc:
                result["error"] = exc

        thread = threading.Thread(target=wait_on_the_lock)
        thread.start()
        assert terminate_waiting(engine, "fault-victim")
        thread.join(10)

    # Then its error (admin shutdown, or the connection lost with it) is transient
    assert transient_reason(result["error"]) in {"server shutting down (57P01)", "connection lost"}


def terminate_waiting(engine, application_name: str, timeout_s: float = 10) -> bool:
    """End the session of ``application_name`` once it waits on a lock; True if it did."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # A fresh transaction each time: pg_stat_activity is a snapshot per transaction.
        with engine.connect() as probe:
            ended = probe.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = :name AND wait_event_type = 'Lock'"
                ),
                {"name": application_name},
            ).scalar_one()
        if ended:
            return True
        time.sleep(0.05)
    return False


def test_bad_data_and_bad_sql_are_never_retried(engine):
    duplicate = error_of(engine, "INSERT INTO fault_probe VALUES (1, 0)")
    assert sqlstate(duplicate) == "23505" and transient_reason(duplicate) is None
    not_a_number = error_of(engine, "SELECT CAST('x' AS int)")
    assert sqlstate(not_a_number) == "22P02" and transient_reason(not_a_number) is None
    typo = error_of(engine, "SELEC 1")
    assert sqlstate(typo) == "42601" and transient_reason(typo) is None


def test_a_database_that_does_not_exist_is_never_retried(settings):
    wrong = create_engine(settings.sqlalchemy_url.reveal().replace("/shelfops?", "/no_such_db?"))
    with pytest.raises(DBAPIError) as raised:
        wrong.connect()
    wrong.dispose()
    assert transient_reason(raised.value) is None


def test_a_stalled_redis_times_out_as_a_transient_fault(stack, settings):
    # Given the tasks' Redis client with a 0.5 s timeout, connected
    client = redis_client(settings.redis_url.reveal(), 0.5)
    assert client.ping()

    # When Redis stops answering (stopped, its socket open)
    began = time.monotonic()
    stall = stopped([stack.redis.process.pid], at_most_s=5)
    with stall, pytest.raises(redis.TimeoutError) as raised:
        client.get("anything")

    # Then the command fails within its timeout, instead of waiting forever, as a transient fault
    assert time.monotonic() - began < 5
    assert transient_reason(raised.value) == "Redis timeout"
    assert client.ping()
