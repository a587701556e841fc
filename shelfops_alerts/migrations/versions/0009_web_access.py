"""Issue 9 (web service) - API tokens, dashboard sessions and login links; keyset index.

Only a SHA-256 of each secret is stored (tokens, session ids, login codes are 256-bit
random values, so a plain hash is enough; there is nothing to brute-force). Sessions and
login links live in the database, so any web instance behind a load balancer serves any
request. ``ix_alerts_customer_changed`` serves the alerts API: newest change first, keyset
pagination on (updated_at, id), per customer.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_api_tokens_customer", "api_tokens", ["customer_id"])
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("session_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        # The API token pasted at /login, if any: revoking it ends its sessions.
        sa.Column("token_id", sa.BigInteger, sa.ForeignKey("api_tokens.id", ondelete="CASCADE")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_sessions_expires", "web_sessions", ["expires_at"])
    op.create_table(
        "login_links",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_alerts_customer_changed",
        "alerts",
        ["customer_id", sa.text("updated_at DESC"), sa.text("id DESC")],
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_customer_changed", table_name="alerts")
    op.drop_table("login_links")
    op.drop_table("web_sessions")
    op.drop_table("api_tokens")
