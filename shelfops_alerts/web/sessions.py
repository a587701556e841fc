"""Dashboard logins: one-time login links and the sessions behind the cookie.

``shelfops-alerts dashboard-url`` stores a login link's code (hashed) with a short expiry;
the first visit of the link deletes it and opens a session, whose id goes to the browser in
an HttpOnly, SameSite=Strict cookie and to the database as a hash. Both live in PostgreSQL,
so any web instance honours them. The caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from urllib.parse import urlencode

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from shelfops_alerts.models import LoginLink, WebSession
from shelfops_alerts.payloads.values import MAX_ID_LENGTH
from shelfops_alerts.web.tokens import TokenError, hash_secret, new_secret

_REDEEM = text(
    """
    DELETE FROM login_links WHERE code_hash = :code_hash
    RETURNING customer_id, expires_at > now() AS valid
    """
)


def create_login_link(session: Session, *, customer_id: str, ttl_s: float) -> str:
    """A new one-time login code for ``customer_id``, valid for ``ttl_s`` seconds."""
    customer = (customer_id or "").strip()
    if not customer or len(customer) > MAX_ID_LENGTH:
        raise TokenError(
            f"customer_id must be 1 to {MAX_ID_LENGTH} characters", field="customer_id"
        )
    session.execute(delete(LoginLink).where(LoginLink.expires_at <= func.now()))
    code = new_secret()
    session.add(
        LoginLink(
            customer_id=customer,
            code_hash=hash_secret(code),
            expires_at=func.now() + dt.timedelta(seconds=ttl_s),
        )
    )
    session.flush()
    return code


def login_url(base_url: str, code: str, *, next_path: str = "/alerts") -> str:
    """The URL a person opens to log in with ``code``."""
    query = {"code": code} if next_path == "/alerts" else {"code": code, "next": next_path}
    return f"{base_url.rstrip('/')}/login?{urlencode(query)}"


def redeem_login_link(session: Session, *, code: str) -> str | None:
    """Use a login code up: its customer, or None when unknown, used or expired."""
    row = session.execute(_REDEEM, {"code_hash": hash_secret(code)}).first()
    return str(row.customer_id) if row is not None and row.valid else None


def start_session(
    session: Session, *, customer_id: str, ttl_s: float, token_id: int | None = None
) -> str:
    """A new dashboard session; returns its secret (the cookie's value)."""
    session.execute(delete(WebSession).where(WebSession.expires_at <= func.now()))
    secret = new_secret()
    session.add(
        WebSession(
            session_hash=hash_secret(secret),
            customer_id=customer_id,
            token_id=token_id,
            expires_at=func.now() + dt.timedelta(seconds=ttl_s),
        )
    )
    session.flush()
    return secret


def find_session(session: Session, *, secret: str) -> WebSession | None:
    """The live session for a cookie's value, or None (unknown, ended or expired)."""
    digest = hash_secret(secret)
    row = session.scalars(
        select(WebSession).where(
            WebSession.session_hash == digest, WebSession.expires_at > func.now()
        )
    ).first()
    if row is None or not hmac.compare_digest(row.session_hash, digest):
        return None
    return row


def end_session(session: Session, *, secret: str) -> None:
    """Log out: the cookie's session no longer exists."""
    session.execute(delete(WebSession).where(WebSession.session_hash == hash_secret(secret)))


def csrf_token(secret: str) -> str:
    """The anti-CSRF token of a session: derived from its secret, so nothing more is stored,
    and unknowable to a page that cannot read the HttpOnly cookie."""
    return hmac.new(secret.encode(), b"shelfops-csrf", hashlib.sha256).hexdigest()
