"""Issue 3 - e-mail digests and delivery bookkeeping.

* ``email_windows``: one row per (customer, recipient): until when the current quiet-period
  window is open (the first mail of a quiet period opens it and goes out at once);
* ``email_digests``: the mails that group what arrived while a window was open; at most one
  ``open`` digest per (customer, recipient), enforced by a partial unique index;
* ``email_deliveries`` gains ``route`` (single or digest, decided once), ``digest_id``,
  ``queued_at`` (the maximum age counts from here) and the status ``digest_pending``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NOW = sa.text("now()")
OLD_STATUSES = "('pending', 'sending', 'retrying', 'sent', 'failed')"
NEW_STATUSES = "('pending', 'digest_pending', 'sending', 'retrying', 'sent', 'failed')"


def upgrade() -> None:
    op.create_table(
        "email_windows",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("recipient", sa.String(254), primary_key=True),
        sa.Column("open_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.BigInteger),
    )
    op.create_table(
        "email_digests",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("provider_message_id", sa.String(256)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status IN ('open', 'sending', 'retrying', 'sent', 'failed')",
            name="ck_email_digests_status",
        ),
    )
    op.create_index(
        "uq_email_digests_one_open",
        "email_digests",
        ["customer_id", "recipient"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_email_digests_status_due", "email_digests", ["status", "due_at"])
    op.add_column("email_deliveries", sa.Column("route", sa.String(8)))
    op.add_column(
        "email_deliveries",
        sa.Column(
            "digest_id", sa.BigInteger, sa.ForeignKey("email_digests.id", ondelete="SET NULL")
        ),
    )
    op.add_column(
        "email_deliveries",
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_index("ix_email_deliveries_digest_id", "email_deliveries", ["digest_id"])
    op.drop_constraint("ck_email_deliveries_status", "email_deliveries", type_="check")
    op.create_check_constraint(
        "ck_email_deliveries_status", "email_deliveries", f"status IN {NEW_STATUSES}"
    )
    op.create_check_constraint(
        "ck_email_deliveries_route", "email_deliveries", "route IN ('single', 'digest')"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE email_deliveries SET status = 'pending', digest_id = NULL"
        " WHERE status = 'digest_pending'"
    )
    op.drop_constraint("ck_email_deliveries_route", "email_deliveries", type_="check")
    op.drop_constraint("ck_email_deliveries_status", "email_deliveries", type_="check")
    op.create_check_constraint(
        "ck_email_deliveries_status", "email_deliveries", f"status IN {OLD_STATUSES}"
    )
    op.drop_index("ix_email_deliveries_digest_id", "email_deliveries")
    for column in ("queued_at", "digest_id", "route"):
        op.drop_column("email_deliveries", column)
    op.drop_table("email_digests")
    op.drop_table("email_windows")
