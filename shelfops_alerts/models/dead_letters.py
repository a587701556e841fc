"""Dead letters: messages parked because their worker died on them too often."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shelfops_alerts.models.base import Base
from shelfops_alerts.vocabulary import PARKED, sql_word


class DeadLetter(Base):
    """One parked message, as it was queued: enough to queue it again (``replay``).

    ``options`` holds what follows the task (``chain``, ``link``, ``link_error``), so a
    replayed check still persists and publishes. One row per task id: a message delivered
    again after it was parked updates its row, never adds a second.
    """

    __tablename__ = "dead_letters"
    __table_args__ = (
        Index(
            "ix_dead_letters_parked", "id", postgresql_where=text(f"status = {sql_word(PARKED)}")
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    task_name: Mapped[str] = mapped_column(String(200), nullable=False)
    task_id: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    queue: Mapped[str | None] = mapped_column(String(200))
    args: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    #: Times the message reached a worker; the last of them parked it.
    deliveries: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default=PARKED)
    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    replayed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    replayed_by: Mapped[str | None] = mapped_column(String(200))
    #: The fresh task id the replayed message was queued under.
    replay_task_id: Mapped[str | None] = mapped_column(String(255))
    discarded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    discarded_by: Mapped[str | None] = mapped_column(String(200))
    discard_reason: Mapped[str | None] = mapped_column(Text)
