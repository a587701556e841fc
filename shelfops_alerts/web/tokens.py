"""API tokens: created once, shown once, stored only as a hash, revocable.

A token is ``sho_`` and 43 URL-safe characters (256 random bits), so a SHA-256 of it is
enough to store (nothing to brute-force) and a lookup by that hash through a unique index
finds it. Every request made with a token is scoped to the token's customer. The caller
owns the transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from shelfops_alerts.models import ApiToken, WebSession
from shelfops_alerts.payloads.values import MAX_ID_LENGTH

#: Every API token starts with this, so a leaked one is easy to recognise (and to scan for).
TOKEN_PREFIX = "sho_"
#: Random bytes in every secret (tokens, session ids, login codes).
SECRET_BYTES = 32
#: Redis keys caching a token's owner, so a webhook call costs no database round trip.
CACHE_PREFIX = "shelfops:auth:token:"
#: How long a cached token is trusted without looking at the database again.
CACHE_TTL_S = 60
#: How long a revoked token's mark stays: longer than any cached entry can live.
REVOKED_MARK_TTL_S = 600
REVOKED_MARK = b"revoked"


class TokenError(ValueError):
    """A token request that cannot be done (unknown token, bad customer); nothing changed.

    ``field`` names the input at fault (``customer_id``, ``name``), so the command line can
    say it with its flag."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Principal:
    """Who is calling: the customer every query is scoped to, and how they proved it."""

    customer_id: str
    #: The API token used (directly, or pasted at /login); None for a login-link session.
    token_id: int | None
    #: ``token`` (Authorization header) or ``session`` (the dashboard's cookie).
    via: str
    #: Expected X-CSRF-Token of a session; None for a bearer token.
    csrf_token: str | None = None


def hash_secret(secret: str) -> str:
    """SHA-256 (hex) of a secret: what the database keeps instead of it."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(SECRET_BYTES)


def create_token(
    session: Session, *, customer_id: str, name: str | None = None
) -> tuple[str, ApiToken]:
    """A new token for ``customer_id``: (the token itself, shown only now; its row)."""
    customer = (customer_id or "").strip()
    if not customer or len(customer) > MAX_ID_LENGTH:
        raise TokenError(
            f"customer_id must be 1 to {MAX_ID_LENGTH} characters", field="customer_id"
        )
    label = (name or "").strip() or f"token for {customer}"
    if len(label) > 128:
        raise TokenError("name is at most 128 characters", field="name")
    token = new_secret(TOKEN_PREFIX)
    row = ApiToken(customer_id=customer, name=label, token_hash=hash_secret(token))
    session.add(row)
    session.flush()
    session.refresh(row)
    return token, row


def list_tokens(session: Session, *, customer_id: str | None = None) -> list[ApiToken]:
    """Tokens, newest first (revoked ones too)."""
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if customer_id is not None:
        query = query.where(ApiToken.customer_id == customer_id)
    return list(session.scalars(query))


def revoke_token(session: Session, *, token_id: int) -> ApiToken:
    """Revoke a token and end the dashboard sessions opened with it."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise TokenError(f"token {token_id} does not exist")
    if row.revoked_at is None:
        session.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(revoked_at=func.now())
        )
        session.execute(delete(WebSession).where(WebSession.token_id == token_id))
        session.refresh(row)
    return row


def find_token(session: Session, *, token_hash: str) -> ApiToken | None:
    """The active (not revoked) token row whose hash is ``token_hash``, or None."""
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()
    # The index lookup already matched; compare again in constant time all the same.
    if (
        row is None
        or row.revoked_at is not None
        or not hmac.compare_digest(row.token_hash, token_hash)
    ):
        return None
    return row


def cache_key(token_hash: str) -> str:
    return f"{CACHE_PREFIX}{token_hash}"


def forget_token(client: redis.Redis, *, token_hash: str) -> None:
    """After a revocation commits: mark the token revoked in the cache every web instance
    reads, so it is refused at once (cache entries are only ever added with NX)."""
    client.set(cache_key(token_hash), REVOKED_MARK, ex=REVOKED_MARK_TTL_S)


def token_json(row: ApiToken) -> dict[str, Any]:
    """A token as `tokens list --json` prints it (never the token itself)."""
    return {
        "token_id": row.id,
        "customer_id": row.customer_id,
        "name": row.name,
        "created_at": row.created_at.isoformat(),
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
    }
