"""The alerts API: list (keyset pages), show with history, counts, acknowledge, resolve.

Every query is the token's customer's; another customer's alert is a 404, exactly as one
that does not exist. Acknowledge and resolve go through the same core function as the
command line, so the change is committed, then published on the channel and the stream.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from shelfops_alerts.alerts.actions import (
    ACTIVE,
    AlertActionError,
    AlertNotFound,
    acknowledge,
    alert_json,
    list_alerts,
    resolve,
    show_alert,
)
from shelfops_alerts.alerts.operations import act_and_publish
from shelfops_alerts.vocabulary import ALERT_STATUSES as STATUSES
from shelfops_alerts.vocabulary import ALERT_TYPES, SEVERITIES
from shelfops_alerts.web.auth import Caller, Changer
from shelfops_alerts.web.context import context_of
from shelfops_alerts.web.errors import conflict, invalid, not_found
from shelfops_alerts.web.pagination import decode_cursor, encode_cursor
from shelfops_alerts.web.queries import active_counts, latest_changes
from shelfops_alerts.web.schemas import AckBody, ResolveBody
from shelfops_alerts.web.tokens import Principal

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Text = Annotated[str | None, Query(min_length=1, max_length=64)]
MAX_PAGE = 500


def _choice(value: str | None, choices: tuple[str, ...], field: str) -> str | None:
    if value is not None and value not in choices:
        raise invalid("query", field, f"must be one of {', '.join(choices)}")
    return value


@router.get("")
def list_route(
    request: Request,
    principal: Caller,
    status: Annotated[
        str | None, Query(description="open, acknowledged, resolved or active")
    ] = None,
    type: Annotated[str | None, Query(description="an alert type")] = None,
    severity: str | None = None,
    store: Text = None,
    product: Text = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The customer's alerts, newest change first, a page at a time (``next_cursor``)."""
    _choice(status, (*STATUSES, ACTIVE), "status")
    _choice(type, ALERT_TYPES, "type")
    _choice(severity, SEVERITIES, "severity")
    try:
        before = decode_cursor(cursor) if cursor is not None else None
    except ValueError as exc:
        raise invalid("query", "cursor", str(exc)) from None
    with context_of(request).sessions() as session:
        found = list_alerts(
            session,
            customer_id=principal.customer_id,
            status=status,
            alert_type=type,
            severity=severity,
            store_id=store,
            product_id=product,
            limit=limit + 1,
            before=before,
        )
        page = found[:limit]
        latest = latest_changes(session, alert_ids=[a.id for a in page])
        alerts = [{**alert_json(a), **latest.get(a.id, {})} for a in page]
    last = page[-1] if page and len(found) > limit else None
    return {
        "alerts": alerts,
        "next_cursor": encode_cursor(last.updated_at, last.id) if last else None,
    }


@router.get("/counts")
def counts_route(
    request: Request,
    principal: Caller,
    type: str | None = None,
    store: Text = None,
    product: Text = None,
) -> dict[str, dict[str, int]]:
    """Active alerts per status and severity (what the dashboard's counters show)."""
    _choice(type, ALERT_TYPES, "type")
    with context_of(request).sessions() as session:
        return active_counts(
            session,
            customer_id=principal.customer_id,
            alert_type=type,
            store_id=store,
            product_id=product,
        )


def _show(request: Request, principal: Principal, alert_id: int) -> dict[str, Any]:
    with context_of(request).sessions() as session:
        try:
            return show_alert(session, alert_id=alert_id, customer_id=principal.customer_id)
        except AlertNotFound as exc:
            raise not_found(str(exc)) from None


@router.get("/{alert_id}")
def show_route(request: Request, alert_id: AlertId, principal: Caller) -> dict[str, Any]:
    """One alert with its whole history, oldest change first."""
    return _show(request, principal, alert_id)


def _act(
    request: Request, principal: Principal, alert_id: int, action: Any, **details: Any
) -> dict[str, Any]:
    ctx = context_of(request)
    try:
        act_and_publish(
            ctx.sessions,
            ctx.redis,
            action,
            alert_id=alert_id,
            customer_id=principal.customer_id,
            stream_maxlen=ctx.settings.stream_maxlen,
            **details,
        )
    except AlertNotFound as exc:
        raise not_found(str(exc)) from None
    except AlertActionError as exc:
        raise conflict(str(exc)) from None
    return _show(request, principal, alert_id)


@router.post("/{alert_id}/ack")
def ack_route(
    request: Request, alert_id: AlertId, body: AckBody, principal: Changer
) -> dict[str, Any]:
    """Acknowledge an open alert; published as ``acknowledged``. 409 if it is not open."""
    return _act(
        request,
        principal,
        alert_id,
        acknowledge,
        actor=body.by,
        note=body.note,
        outcome=body.outcome,
    )


@router.post("/{alert_id}/resolve")
def resolve_route(
    request: Request, alert_id: AlertId, body: ResolveBody, principal: Changer
) -> dict[str, Any]:
    """Resolve an open or acknowledged alert by hand; published as ``resolved``."""
    return _act(request, principal, alert_id, resolve, actor=body.by, note=body.note)
