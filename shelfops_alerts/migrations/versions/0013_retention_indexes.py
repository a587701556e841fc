"""Issue 10 (item 12) - indexes that let the prune find old rows without reading a table.

``shelfops.prune`` (``shelfops_alerts/retention``) deletes rows older than the retention
settings, a bounded batch at a time. Each batch must find its rows through an index, so a
run that finds nothing (most hourly runs) costs a few index probes, not a scan of millions
of rows:

* ``ix_alert_history_changed_at``: history rows by age (appended in time order, so the
  index grows at its right edge and costs little to keep);
* ``ix_alerts_resolved_at``: resolved alerts by when they were resolved (partial: active
  alerts are never pruned);
* ``ix_sales_date``, ``ix_arrivals_date``: the daily inputs by day.

Forecasts need no index: ``forecast_horizons`` (one row per SKU, whose ``start_date`` is the
SKU's first forecast date) says which SKUs hold forecasts older than the cutoff.
The other pruned tables already have what they need (``ix_email_deliveries_status``,
``ix_email_digests_status_due``, ``ix_web_sessions_expires``) or stay small.

Revision ID: 0013_retention_indexes
Revises: 0012_sweep_cursor
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_retention_indexes"
down_revision = "0012_sweep_cursor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_alert_history_changed_at", "alert_history", ["changed_at"])
    op.create_index(
        "ix_alerts_resolved_at",
        "alerts",
        ["resolved_at"],
        postgresql_where=sa.text("status = 'resolved'"),
    )
    op.create_index("ix_sales_date", "sales", ["sale_date"])
    op.create_index("ix_arrivals_date", "arrivals", ["arrival_date"])


def downgrade() -> None:
    op.drop_index("ix_arrivals_date", table_name="arrivals")
    op.drop_index("ix_sales_date", table_name="sales")
    op.drop_index("ix_alerts_resolved_at", table_name="alerts")
    op.drop_index("ix_alert_history_changed_at", table_name="alert_history")
