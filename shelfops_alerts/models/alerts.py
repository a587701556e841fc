"""Alerts and their history: one row per change."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shelfops_alerts.models.base import Base
from shelfops_alerts.vocabulary import (
    ACTIVE_STATUSES,
    OPEN,
    RESOLVED,
    SYSTEM_ACTOR,
    sql_list,
    sql_word,
)


class Alert(Base):
    """One alert; at most one *active* (open or acknowledged) per SKU and type."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_one_active",
            "customer_id",
            "store_id",
            "product_id",
            "alert_type",
            unique=True,
            postgresql_where=text(f"status IN ({sql_list(ACTIVE_STATUSES)})"),
        ),
        # Store, product and type too, so a per-SKU lookup of active alerts is exact whichever
        # of the two indexes the planner takes (migration 0011).
        Index(
            "ix_alerts_customer_status",
            "customer_id",
            "status",
            "store_id",
            "product_id",
            "alert_type",
        ),
        # Resolved alerts by age, for the prune (migration 0012).
        Index(
            "ix_alerts_resolved_at",
            "resolved_at",
            postgresql_where=text(f"status = {sql_word(RESOLVED)}"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    store_id: Mapped[str] = mapped_column(String(64), nullable=False)
    product_id: Mapped[str] = mapped_column(String(64), nullable=False)
    alert_type: Mapped[str] = mapped_column(String(32), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default=OPEN)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    details: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, nullable=False, server_default="{}"
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    acknowledged_note: Mapped[str | None] = mapped_column(Text)
    #: One of ``vocabulary.ACK_OUTCOMES`` (what the operator did about it), or None.
    acknowledged_outcome: Mapped[str | None] = mapped_column(String(32))
    #: Consecutive checks that found the condition gone; resolves at the configured count.
    clear_checks: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    #: The check that last advanced ``clear_checks``: a redelivered check counts once.
    last_clear_check: Mapped[str | None] = mapped_column(String(128))
    #: The silence that matched the latest finding; None when it was not silenced.
    silence_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("alert_silences.id", ondelete="SET NULL")
    )


class AlertHistory(Base):
    """One row per change of an alert: who, when, what it became.

    ``published_at`` is the outbox mark: a change is committed here first and published on
    Redis afterwards, so a crash between the two is caught up by the relay task.
    """

    __tablename__ = "alert_history"
    __table_args__ = (
        Index(
            "ix_alert_history_unpublished",
            "changed_at",
            postgresql_where=text("published_at IS NULL"),
        ),
        Index("ix_alert_history_changed_at", "changed_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    alert_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    event: Mapped[str] = mapped_column(String(16), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    actor: Mapped[str] = mapped_column(String(128), nullable=False, server_default=SYSTEM_ACTOR)
    note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(32))
    #: A silenced change is stored but neither published nor e-mailed.
    silenced: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
