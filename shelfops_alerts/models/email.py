"""Who gets e-mail, every e-mail delivery, and the digests that group them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shelfops_alerts.models.base import Base
from shelfops_alerts.vocabulary import CRITICAL, OPEN, PENDING, sql_word


class AlertRecipient(Base):
    """Who of a customer gets e-mail, from which severity up."""

    __tablename__ = "alert_recipients"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    min_severity: Mapped[str] = mapped_column(String(16), nullable=False, server_default=CRITICAL)


class EmailDelivery(Base):
    """One e-mail for one alert change to one recipient; never two for the same pair."""

    __tablename__ = "email_deliveries"
    __table_args__ = (
        UniqueConstraint("history_id", "recipient", name="uq_email_deliveries_change_recipient"),
        Index("ix_email_deliveries_status", "status", "updated_at"),
        Index("ix_email_deliveries_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    alert_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    history_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("alert_history.id", ondelete="CASCADE"), nullable=False
    )
    recipient: Mapped[str] = mapped_column(String(254), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: ``single`` (sent on its own) or ``digest`` (grouped); decided once, on the first run.
    route: Mapped[str | None] = mapped_column(String(8))
    digest_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("email_digests.id", ondelete="SET NULL"), index=True
    )
    #: When the delivery was (re)queued; SHELFOPS_EMAIL_MAX_AGE_S counts from here.
    queued_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    #: When the next attempt is due (creation, or the retry time of a ``retrying`` one).
    due_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    #: When the task message out for it is expected to run at the latest; None: none is out.
    scheduled_for: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class EmailWindow(Base):
    """A (customer, recipient)'s quiet-period window: mail until ``open_until`` is digested."""

    __tablename__ = "email_windows"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254), primary_key=True)
    open_until: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    #: The delivery that opened the window (sent at once).
    opened_by: Mapped[int | None] = mapped_column(BigInteger)


class EmailDigest(Base):
    """One e-mail listing several alert changes for one recipient.

    One ``open`` digest per recipient takes new changes at a time; once it lists
    SHELFOPS_DIGEST_MAX_CHANGES it is ``is_full`` (still open until sent, due as before) and
    the next change opens another.
    """

    __tablename__ = "email_digests"
    __table_args__ = (
        Index(
            "uq_email_digests_one_open",
            "customer_id",
            "recipient",
            unique=True,
            postgresql_where=text(f"status = {sql_word(OPEN)} AND NOT is_full"),
        ),
        Index("ix_email_digests_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    recipient: Mapped[str] = mapped_column(String(254), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default=OPEN)
    #: When the window closes, then when the next attempt is due (``retrying``).
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    #: When the task message out for it is expected to run at the latest; None: none is out.
    scheduled_for: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    #: Alert changes it lists; at SHELFOPS_DIGEST_MAX_CHANGES it is full.
    changes: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    is_full: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
