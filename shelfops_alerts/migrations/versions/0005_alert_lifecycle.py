"""Issue 4 (lifecycle) - acknowledgement outcome, hysteresis counter, silences.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NOW = sa.text("now()")
OUTCOMES = "('ordered', 'transferred', 'false_positive', 'stock_corrected', 'other')"


def upgrade() -> None:
    op.create_table(
        "alert_silences",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(64)),
        sa.Column("product_id", sa.String(64)),
        sa.Column("alert_type", sa.String(32)),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("expired_at", sa.DateTime(timezone=True)),
        sa.Column("expired_by", sa.String(128)),
        sa.CheckConstraint("ends_at > starts_at", name="ck_alert_silences_window"),
    )
    op.create_index("ix_alert_silences_customer_ends", "alert_silences", ["customer_id", "ends_at"])

    op.add_column(
        "alerts", sa.Column("clear_checks", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column("alerts", sa.Column("last_clear_check", sa.String(128)))
    op.add_column(
        "alerts",
        sa.Column(
            "silence_id",
            sa.BigInteger,
            sa.ForeignKey("alert_silences.id", ondelete="SET NULL"),
        ),
    )
    op.add_column("alerts", sa.Column("acknowledged_note", sa.Text))
    op.add_column("alerts", sa.Column("acknowledged_outcome", sa.String(32)))
    op.create_check_constraint(
        "ck_alerts_acknowledged_outcome", "alerts", f"acknowledged_outcome IN {OUTCOMES}"
    )
    # Reopening looks up the newest resolved alert of a SKU and type.
    op.create_index(
        "ix_alerts_resolved_key",
        "alerts",
        ["customer_id", "store_id", "product_id", "alert_type", "resolved_at"],
        postgresql_where=sa.text("status = 'resolved'"),
    )

    op.add_column(
        "alert_history",
        sa.Column("silenced", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column("alert_history", sa.Column("outcome", sa.String(32)))


def downgrade() -> None:
    op.drop_column("alert_history", "outcome")
    op.drop_column("alert_history", "silenced")
    op.drop_index("ix_alerts_resolved_key", table_name="alerts")
    op.drop_constraint("ck_alerts_acknowledged_outcome", "alerts", type_="check")
    for column in (
        "acknowledged_outcome",
        "acknowledged_note",
        "silence_id",
        "last_clear_check",
        "clear_checks",
    ):
        op.drop_column("alerts", column)
    op.drop_index("ix_alert_silences_customer_ends", table_name="alert_silences")
    op.drop_table("alert_silences")
