"""Issue 10 item 6 - poison messages: dead letters, and digests with a size limit.

``dead_letters`` keeps each message a worker died on too often (SHELFOPS_MAX_REDELIVERIES
starts that never finished), as it was queued, until an operator replays or discards it.

``email_digests`` counts the changes each lists (``changes``); a digest that reached
SHELFOPS_DIGEST_MAX_CHANGES is ``is_full``: it stays ``open`` until it is sent, but leaves
the one-open-digest-per-recipient index, so the next change opens another digest.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("task_name", sa.String(200), nullable=False),
        sa.Column("task_id", sa.String(255), nullable=False, unique=True),
        sa.Column("queue", sa.String(200)),
        sa.Column("args", postgresql.JSONB, nullable=False),
        sa.Column("kwargs", postgresql.JSONB, nullable=False),
        sa.Column("options", postgresql.JSONB, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("deliveries", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="parked"),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("replayed_at", sa.DateTime(timezone=True)),
        sa.Column("replayed_by", sa.String(200)),
        sa.Column("replay_task_id", sa.String(255)),
        sa.Column("discarded_at", sa.DateTime(timezone=True)),
        sa.Column("discarded_by", sa.String(200)),
        sa.Column("discard_reason", sa.Text),
        sa.CheckConstraint(
            "status IN ('parked', 'replayed', 'discarded')", name="ck_dead_letters_status"
        ),
    )
    # What `status` and the metrics count: only the parked ones, however long the history.
    op.create_index(
        "ix_dead_letters_parked",
        "dead_letters",
        ["id"],
        postgresql_where=sa.text("status = 'parked'"),
    )

    op.add_column(
        "email_digests",
        sa.Column("changes", sa.Integer, nullable=False, server_default="0"),
    )
    op.add_column(
        "email_digests",
        sa.Column("is_full", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.execute(
        "UPDATE email_digests g SET changes ="
        " (SELECT count(*) FROM email_deliveries d WHERE d.digest_id = g.id)"
        " WHERE status = 'open'"
    )
    op.drop_index("uq_email_digests_one_open", "email_digests")
    op.create_index(
        "uq_email_digests_one_open",
        "email_digests",
        ["customer_id", "recipient"],
        unique=True,
        postgresql_where=sa.text("status = 'open' AND NOT is_full"),
    )


def downgrade() -> None:
    # One open digest per recipient again: full ones are handed to the retry path, which
    # still sends them (claimed when due, like any digest waiting for another attempt).
    op.execute("UPDATE email_digests SET status = 'retrying' WHERE status = 'open' AND is_full")
    op.drop_index("uq_email_digests_one_open", "email_digests")
    op.create_index(
        "uq_email_digests_one_open",
        "email_digests",
        ["customer_id", "recipient"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_column("email_digests", "is_full")
    op.drop_column("email_digests", "changes")
    op.drop_table("dead_letters")
