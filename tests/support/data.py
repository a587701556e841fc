"""Writing test inventory and forecasts straight into the database, in bulk."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session, sessionmaker

from tests.support.waiting import wait_until


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def put_skus(
    factory: sessionmaker[Session],
    customer_id: str,
    skus: Iterable[tuple[str, str, float, float]],
    *,
    days: int = 14,
) -> None:
    """Upsert (store, product, on_hand, flat daily demand) rows with a forecast from today."""
    rows = list(skus)
    start = today()
    with factory.begin() as session:
        session.execute(
            text(
                "INSERT INTO inventory (customer_id, store_id, product_id, on_hand)"
                " VALUES (:c, :s, :p, :h) ON CONFLICT (customer_id, store_id, product_id)"
                " DO UPDATE SET on_hand = EXCLUDED.on_hand"
            ),
            [{"c": customer_id, "s": s, "p": p, "h": h} for s, p, h, _ in rows],
        )
        session.execute(
            text(
                "INSERT INTO forecasts (customer_id, store_id, product_id, forecast_date, demand)"
                " SELECT :c, :s, :p, :start + g, :d FROM generate_series(0, :days - 1) g"
                " ON CONFLICT (customer_id, store_id, product_id, forecast_date)"
                " DO UPDATE SET demand = EXCLUDED.demand"
            ),
            [
                {"c": customer_id, "s": s, "p": p, "d": d, "start": start, "days": days}
                for s, p, _, d in rows
            ],
        )


def put_recipients(
    factory: sessionmaker[Session], customer_id: str, recipients: dict[str, str]
) -> None:
    with factory.begin() as session:
        session.execute(
            text(
                "INSERT INTO alert_recipients (customer_id, email, min_severity)"
                " VALUES (:c, :e, :m)"
            ),
            [{"c": customer_id, "e": e, "m": m} for e, m in recipients.items()],
        )


def rows(factory: sessionmaker[Session], sql: str, **params: object) -> list:
    with factory() as session:
        return list(session.execute(text(sql), params).all())


def waiting_on_a_lock(factory: sessionmaker[Session], statement: str) -> list:
    """The sessions waiting on a lock whose query begins with ``statement``."""
    return rows(
        factory,
        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE :q",
        q=statement + "%",
    )


def second_writer_waits(
    factory: sessionmaker[Session],
    insert: TextClause,
    first: dict[str, Any],
    second: dict[str, Any],
    *,
    table: str,
) -> None:
    """Two writers of ``insert`` into ``table``: the first with ``first`` left uncommitted,
    the second with ``second`` in a thread, seen waiting on the first's lock; then the first
    commits and the second finishes."""
    holder = factory()
    holder.begin()
    holder.execute(insert, first)

    def second_writer() -> None:
        with factory.begin() as session:
            session.execute(insert, second)

    thread = threading.Thread(target=second_writer)
    thread.start()
    wait_until(
        lambda: waiting_on_a_lock(factory, f"INSERT INTO {table}"),
        what="the second writer waiting for the first",
    )
    holder.commit()
    holder.close()
    thread.join()


def put_rule_settings(session: Session, customer: str, **settings: object) -> None:
    """The customer's rule settings row: ``settings`` by column, the others their defaults."""
    names = "".join(f", {name}" for name in settings)
    values = "".join(f", :{name}" for name in settings)
    session.execute(
        text(
            f"INSERT INTO customer_rule_settings (customer_id{names}) VALUES (:customer_id{values})"
        ),
        {"customer_id": customer, **settings},
    )


def poison(db, store: str, product: str) -> None:
    # PostgreSQL's NaN passes the demand >= 0 constraint: stored input no rule can judge.
    with db.begin() as session:
        session.execute(
            text(
                "UPDATE forecasts SET demand = 'NaN'"
                " WHERE customer_id = 'bad' AND store_id = :s AND product_id = :p"
            ),
            {"s": store, "p": product},
        )


Key = TypeVar("Key", bound=Hashable)


def laid_out_by_day(
    by_key: Mapping[Key, Mapping[dt.date, float]],
) -> dict[Key, tuple[dt.date, list[float | None]]]:
    """Per key, its values laid out one per day from its first day to its last (None on a
    day without one): what a forecast horizon or a sales window must hold, worked out in
    Python."""
    laid: dict[Key, tuple[dt.date, list[float | None]]] = {}
    for key, days in by_key.items():
        start, stop = min(days), max(days)
        span = (stop - start).days + 1
        laid[key] = (start, [days.get(start + dt.timedelta(days=n)) for n in range(span)])
    return laid
