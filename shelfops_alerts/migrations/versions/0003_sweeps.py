"""Issue 5 - sweeps: one row per sweep, one row per completed batch of a sweep.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NOW = sa.text("now()")
ZERO = "0"
COUNTERS = (
    "skus_total",
    "skus_checked",
    "batches_queued",
    "batches_done",
    "batches_failed",
    "alerts_created",
    "alerts_updated",
    "alerts_escalated",
    "alerts_resolved",
)


def upgrade() -> None:
    op.create_table(
        "sweeps",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("task_id", sa.String(64), nullable=False, unique=True),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False, server_default="running"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("queued_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("batch_size", sa.Integer, nullable=False),
        *(sa.Column(name, sa.BigInteger, nullable=False, server_default=ZERO) for name in COUNTERS),
        sa.CheckConstraint(
            "status IN ('running', 'finished', 'abandoned')", name="ck_sweeps_status"
        ),
    )
    op.create_index("ix_sweeps_started_at", "sweeps", ["started_at"])
    op.create_table(
        "sweep_batches",
        sa.Column(
            "sweep_id",
            sa.BigInteger,
            sa.ForeignKey("sweeps.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("batch_no", sa.Integer, primary_key=True),
        sa.Column("failed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )


def downgrade() -> None:
    op.drop_table("sweep_batches")
    op.drop_table("sweeps")
