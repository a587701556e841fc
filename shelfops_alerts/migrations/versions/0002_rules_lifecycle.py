"""Issue 4 (rules) - replenishment policies, sales, expected arrivals, per-customer rule settings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def _sku_columns() -> list[sa.Column]:
    return [
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("store_id", sa.String(64), primary_key=True),
        sa.Column("product_id", sa.String(64), primary_key=True),
    ]


def upgrade() -> None:
    # The checks repeat the import's validation, so a row written by other means cannot
    # hand the rules a value they would misjudge.
    op.create_table(
        "policies",
        *_sku_columns(),
        sa.Column("lead_time_days", sa.Float, nullable=False),
        sa.Column("reorder_point", sa.Float),
        sa.Column("order_up_to", sa.Float),
        sa.Column("case_pack", sa.Float),
        sa.Column("min_order_qty", sa.Float),
        sa.Column("service_level", sa.Float),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("lead_time_days > 0", name="ck_policies_lead_time"),
        sa.CheckConstraint("reorder_point >= 0", name="ck_policies_reorder_point"),
        sa.CheckConstraint("order_up_to >= reorder_point", name="ck_policies_order_up_to"),
        sa.CheckConstraint("order_up_to >= 0", name="ck_policies_order_up_to_positive"),
        sa.CheckConstraint("case_pack > 0", name="ck_policies_case_pack"),
        sa.CheckConstraint("min_order_qty >= 0", name="ck_policies_min_order_qty"),
        sa.CheckConstraint(
            "service_level >= 0.5 AND service_level < 1", name="ck_policies_service_level"
        ),
    )
    op.create_table(
        "sales",
        *_sku_columns(),
        sa.Column("sale_date", sa.Date, primary_key=True),
        sa.Column("units", sa.Float, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("units >= 0", name="ck_sales_units"),
    )
    op.create_table(
        "arrivals",
        *_sku_columns(),
        sa.Column("arrival_date", sa.Date, primary_key=True),
        sa.Column("quantity", sa.Float, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("quantity >= 0", name="ck_arrivals_quantity"),
    )
    op.create_table(
        "customer_rule_settings",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("service_level", sa.Float),
        sa.Column("history_days", sa.Integer),
        sa.Column("min_history_days", sa.Integer),
        sa.Column("anomaly_z", sa.Float),
        sa.Column("anomaly_min_units", sa.Float),
        sa.Column("phantom_days", sa.Integer),
        sa.Column("phantom_min_expected", sa.Float),
        sa.Column("accuracy_wape", sa.Float),
        sa.Column("accuracy_min_units", sa.Float),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )


def downgrade() -> None:
    for table in ("customer_rule_settings", "arrivals", "sales", "policies"):
        op.drop_table(table)
