"""The dashboard: ``/login``, ``/alerts`` (live) and ``/alerts/{id}`` (the page every
e-mail links to). Server-rendered Jinja2 (autoescaped) plus one static script; no CDN.

Pages need the session cookie (HttpOnly, SameSite=Strict). A person arriving from another
site (an e-mail in webmail) carries no Strict cookie on that first request, so a page
without a session first reloads itself once from this site, with the cookie, before it
sends them to /login.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from shelfops_alerts.alerts.actions import AlertNotFound, show_alert
from shelfops_alerts.vocabulary import ACK_OUTCOMES, ALERT_TYPES, SEVERITIES
from shelfops_alerts.web.auth import SESSION_COOKIE, same_origin, session_principal, token_principal
from shelfops_alerts.web.context import context_of
from shelfops_alerts.web.presentation import (
    OUTCOME_LABELS,
    TYPE_LABELS,
    describe_metadata,
)
from shelfops_alerts.web.sessions import csrf_token, end_session, redeem_login_link, start_session
from shelfops_alerts.web.tokens import Principal

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
router = APIRouter(include_in_schema=False)
templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
templates.globals.update(type_labels=TYPE_LABELS, outcome_labels=OUTCOME_LABELS)
#: Query flag of a page's one reload from this site (see the module docstring).
BOUNCED = "bounced"


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status_code)


def _local(path: str | None) -> str:
    """``path`` if it is a path on this site, else /alerts (no open redirects)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/alerts"
    return path


def _logged_in(request: Request, next_path: str, secret: str) -> Response:
    settings = context_of(request).settings
    response = RedirectResponse(_local(next_path), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(settings.session_ttl_s),
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.dashboard_url.startswith("https://"),
    )
    return response


async def _page_principal(request: Request) -> Principal | None:
    secret = request.cookies.get(SESSION_COOKIE)
    return await session_principal(context_of(request), secret) if secret else None


def _to_login(request: Request) -> Response:
    if BOUNCED not in request.query_params:
        query = dict(request.query_params) | {BOUNCED: "1"}
        return render("bounce.html", url=f"{request.url.path}?{urlencode(query)}")
    query = {k: v for k, v in request.query_params.items() if k != BOUNCED}
    target = request.url.path + (f"?{urlencode(query)}" if query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/alerts", status_code=303)


@router.get("/login")
async def login_page(
    request: Request, code: str | None = None, next: str | None = None
) -> Response:
    """The login form; with ``code`` (a one-time link), the login itself."""
    ctx = context_of(request)
    if code is None:
        return render("login.html", next=_local(next))

    def redeem() -> str | None:
        with ctx.sessions.begin() as session:
            customer = redeem_login_link(session, code=code)
            if customer is None:
                return None
            return start_session(session, customer_id=customer, ttl_s=ctx.settings.session_ttl_s)

    secret = await run_in_threadpool(redeem)
    if secret is None:
        return render(
            "login.html",
            401,
            next=_local(next),
            error="This login link has expired or was already used. Ask for a new one"
            " (shelfops-alerts dashboard-url --customer …) or paste an API token.",
        )
    return _logged_in(request, next or "/alerts", secret)


@router.post("/login")
async def login_submit(request: Request) -> Response:
    """Log in with a pasted API token (form fields ``token`` and ``next``)."""
    ctx = context_of(request)
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = form.get("token", [""])[0].strip()
    next_path = _local(form.get("next", ["/alerts"])[0])
    if not same_origin(request):
        return render("login.html", 403, next=next_path, error="Cross-site login refused.")
    principal = await token_principal(ctx, token) if token else None
    if principal is None:
        return render(
            "login.html", 401, next=next_path, error="That API token is not valid (or was revoked)."
        )

    def start() -> str:
        with ctx.sessions.begin() as session:
            return start_session(
                session,
                customer_id=principal.customer_id,
                token_id=principal.token_id,
                ttl_s=ctx.settings.session_ttl_s,
            )

    return _logged_in(request, next_path, await run_in_threadpool(start))


@router.post("/logout")
async def logout(request: Request) -> Response:
    ctx = context_of(request)
    secret = request.cookies.get(SESSION_COOKIE)
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    sent = form.get("csrf", [""])[0]
    if secret and same_origin(request) and sent == csrf_token(secret):

        def end() -> None:
            with ctx.sessions.begin() as session:
                end_session(session, secret=secret)

        await run_in_threadpool(end)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/alerts")
async def alerts_page(request: Request) -> Response:
    """The live list of the customer's active alerts."""
    principal = await _page_principal(request)
    if principal is None:
        return _to_login(request)
    ctx = context_of(request)
    return render(
        "alerts.html",
        principal=principal,
        since=await ctx.hub.last_id(principal.customer_id),
        heartbeat_s=ctx.settings.stream_heartbeat_s,
        vocabulary={
            "types": list(ALERT_TYPES),
            "severities": list(SEVERITIES),
            "outcomes": list(ACK_OUTCOMES),
            "type_labels": TYPE_LABELS,
            "outcome_labels": OUTCOME_LABELS,
        },
    )


@router.get("/alerts/{alert_id}")
async def alert_page(
    request: Request, alert_id: Annotated[int, PathParam(ge=1, le=2**63 - 1)]
) -> Response:
    """One alert: what was found (metadata) and everything that happened to it."""
    principal = await _page_principal(request)
    if principal is None:
        return _to_login(request)
    ctx = context_of(request)

    def load() -> dict[str, Any] | None:
        with ctx.sessions() as session:
            try:
                return show_alert(session, alert_id=alert_id, customer_id=principal.customer_id)
            except AlertNotFound:
                return None

    alert = await run_in_threadpool(load)
    if alert is None:
        return render("not_found.html", 404, principal=principal, alert_id=alert_id)
    return render(
        "alert.html",
        principal=principal,
        alert=alert,
        facts=describe_metadata(alert["metadata"]),
        outcomes=ACK_OUTCOMES,
        vocabulary={
            "types": list(ALERT_TYPES),
            "severities": list(SEVERITIES),
            "outcomes": list(ACK_OUTCOMES),
            "type_labels": TYPE_LABELS,
            "outcome_labels": OUTCOME_LABELS,
        },
    )
