"""Batch ledger: one row per queued check → persist → publish chain, closed by its publish.

Kombu's Redis transport takes a message off the queue (BRPOP) before it records it as
unacknowledged; a worker killed between the two loses the message, and late
acknowledgement cannot bring it back. The ledger remembers every batch a walker queued
(an event's or a sweep's) until its chain's last step marks it done; the relay re-queues a
row that is old and whose chain is provably in no queue and unacknowledged by no worker
(``shelfops_alerts/ledger``).

* ``skus``: the batch's keys as ``[[store, product], ...]``; ``context`` and
  ``only_types`` as the chain carried them; ``task_ids``: the chain's check, persist and
  publish task ids (a re-queued chain reuses them, so it counts its check once);
* ``ix_batch_ledger_open``: the relay's look at unfinished rows by age (partial, so it
  stays as small as the work in flight); ``ix_batch_ledger_done``: the prune's.

Revision ID: 0014_batch_ledger
Revises: 0013_retention_indexes
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014_batch_ledger"
down_revision = "0013_retention_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_ledger",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("skus", postgresql.JSONB, nullable=False),
        sa.Column("context", postgresql.JSONB),
        sa.Column("only_types", postgresql.JSONB),
        sa.Column("task_ids", postgresql.ARRAY(sa.String(255)), nullable=False),
        sa.Column(
            "queued_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        # done, or why the relay stopped re-queueing it (gave_up, parked).
        sa.Column("outcome", sa.String(16)),
        sa.Column("requeues", sa.Integer, nullable=False, server_default="0"),
        sa.Column("requeued_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_batch_ledger_open",
        "batch_ledger",
        ["queued_at"],
        postgresql_where=sa.text("done_at IS NULL"),
    )
    op.create_index(
        "ix_batch_ledger_done",
        "batch_ledger",
        ["done_at"],
        postgresql_where=sa.text("done_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_batch_ledger_done", table_name="batch_ledger")
    op.drop_index("ix_batch_ledger_open", table_name="batch_ledger")
    op.drop_table("batch_ledger")
