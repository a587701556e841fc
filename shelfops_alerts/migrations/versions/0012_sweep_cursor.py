"""Issue 10 - outages: a sweep remembers how far its walk got, so a redelivered or retried
sweep task continues from there instead of starting over or being refused.

``cursor_batches`` counts the batches queued so far; ``cursor_customer_id``,
``cursor_store_id`` and ``cursor_product_id`` are the last SKU key queued.

Revision ID: 0012_sweep_cursor
Revises: 0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_sweep_cursor"
# main's head, 0011_fast_forecast_horizons.py (its revision id is "0011")
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "sweeps", sa.Column("cursor_batches", sa.BigInteger, nullable=False, server_default="0")
    )
    op.add_column("sweeps", sa.Column("cursor_customer_id", sa.String(64)))
    op.add_column("sweeps", sa.Column("cursor_store_id", sa.String(64)))
    op.add_column("sweeps", sa.Column("cursor_product_id", sa.String(64)))


def downgrade() -> None:
    for column in ("cursor_product_id", "cursor_store_id", "cursor_customer_id", "cursor_batches"):
        op.drop_column("sweeps", column)
