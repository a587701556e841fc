"""Issue 10 - when each e-mail attempt is due, and whether a message is out for it.

* ``email_deliveries.due_at``: when the delivery's next attempt is due (its creation for a
  new one, the retry time for one that is ``retrying``); ``email_digests.due_at`` already
  says when a digest's window closes and now also when its next attempt is due;
* ``scheduled_for`` on both: when the task message handed to the broker for the row is
  expected to run at the latest (its countdown, or the queue ahead of it drained at the
  e-mail rate; NULL: no message is out). The relay and the digest flush re-queue a row that
  is due and has no message out, or whose message is presumed lost (expected longer than
  the visibility timeout ago), instead of re-queueing everything that merely waits its turn.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "email_deliveries",
        sa.Column(
            "due_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")
        ),
    )
    op.add_column("email_deliveries", sa.Column("scheduled_for", sa.DateTime(timezone=True)))
    op.add_column("email_digests", sa.Column("scheduled_for", sa.DateTime(timezone=True)))
    op.create_index("ix_email_deliveries_status_due", "email_deliveries", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_email_deliveries_status_due", table_name="email_deliveries")
    op.drop_column("email_digests", "scheduled_for")
    op.drop_column("email_deliveries", "scheduled_for")
    op.drop_column("email_deliveries", "due_at")
