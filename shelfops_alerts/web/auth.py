"""Who is calling, for every route: an API token, or the dashboard's session cookie.

* ``Authorization: Bearer <token>``: the token's owner is cached in Redis for
  ``CACHE_TTL_S`` and refreshed ahead of expiry while in use (a webhook call then costs no
  database round trip); a revocation writes a mark there that every instance honours at
  once (``web/token_cache.py``).
* The ``shelfops_session`` cookie (HttpOnly, SameSite=Strict): a session in PostgreSQL.
  Changes made with it must carry the session's CSRF token in ``X-CSRF-Token`` and, when
  the browser sends one, an ``Origin`` of this site.

Every route scopes its work to ``Principal.customer_id``; no request names a customer.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlparse

from fastapi import Depends, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from shelfops_alerts.web.context import WebContext, context_of
from shelfops_alerts.web.sessions import csrf_token, find_session
from shelfops_alerts.web.tokens import Principal, hash_secret

SESSION_COOKIE = "shelfops_session"
CSRF_HEADER = "X-CSRF-Token"
UNAUTHORIZED = "missing, invalid or revoked API token (send Authorization: Bearer <token>)"


@dataclass(frozen=True)
class Claim:
    """The webhook's caller: a principal, and — when this process has seen the token's
    owner in the Redis cache before — that cache entry, so the event is queued only if Redis
    still holds it (one atomic step; see ``TaskQueue.send_if_cached``). A revoked token's
    entry is replaced by the revocation mark, so such a push does not happen."""

    principal: Principal
    #: The token's hash (its cache entry is ``tokens.cache_key(digest)``) and that entry.
    digest: str | None = None
    owner: bytes | None = None


async def token_principal(ctx: WebContext, token: str) -> Principal | None:
    """The owner of an API token, from the shared cache or the database; None if unknown
    or revoked (see ``web/token_cache.py``)."""
    return await ctx.tokens.principal(token)


async def session_principal(ctx: WebContext, secret: str) -> Principal | None:
    """The principal of a session cookie's value, or None."""

    def lookup() -> tuple[str, int | None] | None:
        with ctx.sessions() as session:
            row = find_session(session, secret=secret)
            return None if row is None else (row.customer_id, row.token_id)

    found = await run_in_threadpool(lookup)
    if found is None:
        return None
    return Principal(found[0], found[1], "session", csrf_token(secret))


async def authenticate(connection: HTTPConnection) -> Principal | None:
    """The caller, from the Authorization header if there is one, else the session cookie."""
    ctx = context_of(connection)
    header = connection.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return await token_principal(ctx, token.strip())
    cookie = connection.cookies.get(SESSION_COOKIE)
    if cookie:
        return await session_principal(ctx, cookie)
    return None


def same_origin(connection: HTTPConnection, *, required: bool = False) -> bool:
    """Whether the browser's ``Origin`` is this site (its Host, or the dashboard URL's)."""
    origin = connection.headers.get("origin")
    if origin is None:
        return not required
    netloc = urlparse(origin).netloc
    allowed = {
        connection.headers.get("host", ""),
        urlparse(context_of(connection).settings.dashboard_url).netloc,
    }
    return netloc in allowed


async def caller(request: Request) -> Principal:
    """Dependency: the authenticated caller, or 401."""
    principal = await authenticate(request)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


Caller = Annotated[Principal, Depends(caller)]


async def changer(request: Request, principal: Caller) -> Principal:
    """Dependency for changes: a session must also prove the request comes from its page."""
    if principal.via == "session":
        sent = request.headers.get(CSRF_HEADER, "")
        if not same_origin(request) or not hmac.compare_digest(
            sent.encode(), (principal.csrf_token or "").encode()
        ):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site request refused")
    return principal


Changer = Annotated[Principal, Depends(changer)]


async def webhook_caller(request: Request) -> Claim:
    """Dependency of the webhook: a bearer token this process knows costs no round trip here
    (its check travels with the push); anything else is authenticated as for any change."""
    ctx = context_of(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        digest = hash_secret(token.strip())
        known = ctx.tokens.known(digest)
        if known is not None:
            return Claim(known[1], digest, known[0])
    return Claim(await changer(request, await caller(request)))


WebhookCaller = Annotated[Claim, Depends(webhook_caller)]
