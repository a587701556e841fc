"""Initial schema: inventory, forecasts, thresholds, alerts and history, recipients, deliveries.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "inventory",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("product_id", sa.String(64), primary_key=True),
        sa.Column("on_hand", sa.Float, nullable=False),
        sa.Column("on_order", sa.Float, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("on_hand >= 0", name="ck_inventory_on_hand"),
        sa.CheckConstraint("on_order >= 0", name="ck_inventory_on_order"),
    )
    op.create_table(
        "forecasts",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("product_id", sa.String(64), primary_key=True),
        sa.Column("forecast_date", sa.Date, primary_key=True),
        sa.Column("demand", sa.Float, nullable=False),
        sa.Column("run_id", sa.String(128)),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("demand >= 0", name="ck_forecasts_demand"),
    )
    op.create_table(
        "customer_thresholds",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("critical_days", sa.Float, nullable=False, server_default="1"),
        sa.Column("high_days", sa.Float, nullable=False, server_default="2"),
        sa.Column("medium_days", sa.Float, nullable=False, server_default="3"),
        sa.CheckConstraint(
            "0 <= critical_days AND critical_days <= high_days AND high_days <= medium_days",
            name="ck_customer_thresholds_order",
        ),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("alert_type", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("metadata", postgresql.JSONB, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
        sa.Column("acknowledged_by", sa.String(128)),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_by", sa.String(128)),
        sa.CheckConstraint(
            "alert_type IN ('stockout_predicted', 'anomaly_detected', 'reorder_recommended',"
            " 'forecast_accuracy_low')",
            name="ck_alerts_type",
        ),
        sa.CheckConstraint(
            "severity IN ('low', 'medium', 'high', 'critical')", name="ck_alerts_severity"
        ),
        sa.CheckConstraint(
            "status IN ('open', 'acknowledged', 'resolved')", name="ck_alerts_status"
        ),
    )
    op.create_index(
        "uq_alerts_one_active",
        "alerts",
        ["customer_id", "store_id", "product_id", "alert_type"],
        unique=True,
        postgresql_where=sa.text("status IN ('open', 'acknowledged')"),
    )
    op.create_index("ix_alerts_customer_status", "alerts", ["customer_id", "status"])
    op.create_table(
        "alert_history",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "alert_id",
            sa.BigInteger,
            sa.ForeignKey("alerts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False, server_default="system"),
        sa.Column("note", sa.Text),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "event IN ('created', 'updated', 'escalated', 'acknowledged', 'resolved', 'reopened')",
            name="ck_alert_history_event",
        ),
    )
    op.create_index("ix_alert_history_alert_id", "alert_history", ["alert_id"])
    op.create_index(
        "ix_alert_history_unpublished",
        "alert_history",
        ["changed_at"],
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "alert_recipients",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(254), primary_key=True),
        sa.Column("min_severity", sa.String(16), nullable=False, server_default="critical"),
        sa.CheckConstraint(
            "min_severity IN ('low', 'medium', 'high', 'critical')",
            name="ck_alert_recipients_min_severity",
        ),
    )
    op.create_table(
        "email_deliveries",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column(
            "alert_id",
            sa.BigInteger,
            sa.ForeignKey("alerts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "history_id",
            sa.BigInteger,
            sa.ForeignKey("alert_history.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("provider_message_id", sa.String(256)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("history_id", "recipient", name="uq_email_deliveries_change_recipient"),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'retrying', 'sent', 'failed')",
            name="ck_email_deliveries_status",
        ),
    )
    op.create_index("ix_email_deliveries_alert_id", "email_deliveries", ["alert_id"])
    op.create_index("ix_email_deliveries_status", "email_deliveries", ["status", "updated_at"])


def downgrade() -> None:
    for table in (
        "email_deliveries",
        "alert_recipients",
        "alert_history",
        "alerts",
        "customer_thresholds",
        "forecasts",
        "inventory",
    ):
        op.drop_table(table)
