"""Who may use the web service: API tokens, dashboard sessions, one-time login links.

Each secret is stored only as its SHA-256 (hex); see ``shelfops_alerts/web/tokens.py``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from shelfops_alerts.models.base import Base


class ApiToken(Base):
    """A customer's API token; every request made with it is scoped to ``customer_id``."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A dashboard login: the cookie's value is the secret, this row its hash."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    #: The API token pasted at /login (None for a login link); revoking it ends the session.
    token_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("api_tokens.id", ondelete="CASCADE")
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class LoginLink(Base):
    """A one-time, short-lived login link (``shelfops-alerts dashboard-url``)."""

    __tablename__ = "login_links"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
