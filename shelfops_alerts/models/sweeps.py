"""Sweeps: one row per sweep of every SKU (or one customer's), one per batch it completed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from shelfops_alerts.models.base import Base
from shelfops_alerts.vocabulary import RUNNING


class Sweep(Base):
    """One sweep: when it started, finished queueing and finished, and what it found.

    ``status`` is ``running`` until the last queued batch is published (``finished``), or
    ``abandoned`` when a later sweep found it unfinished after its lock had expired.
    """

    __tablename__ = "sweeps"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    task_id: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    customer_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default=RUNNING)
    started_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    queued_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    batch_size: Mapped[int] = mapped_column(Integer, nullable=False)
    skus_total: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    skus_checked: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    batches_queued: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    batches_done: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    batches_failed: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    alerts_created: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    alerts_updated: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    alerts_escalated: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    alerts_resolved: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    #: How far the walk got: batches queued so far and the last SKU key queued, so a sweep
    #: task delivered again (retried, or its worker died) continues from there.
    cursor_batches: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    cursor_customer_id: Mapped[str | None] = mapped_column(String(64))
    cursor_store_id: Mapped[str | None] = mapped_column(String(64))
    cursor_product_id: Mapped[str | None] = mapped_column(String(64))


class SweepBatch(Base):
    """A completed batch of a sweep (published, or failed): counted once, even if redelivered."""

    __tablename__ = "sweep_batches"

    sweep_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("sweeps.id", ondelete="CASCADE"), primary_key=True
    )
    batch_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    failed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    done_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
