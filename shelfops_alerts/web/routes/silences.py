"""Silences over HTTP: list, add, expire; always the token's customer's."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status

from shelfops_alerts.alerts.lifecycle import LifecycleError, parse_until
from shelfops_alerts.alerts.silences import add_silence, expire_silence, list_silences, silence_json
from shelfops_alerts.models import Silence
from shelfops_alerts.web.auth import Caller, Changer
from shelfops_alerts.web.context import context_of
from shelfops_alerts.web.errors import conflict, invalid, not_found
from shelfops_alerts.web.schemas import SilenceBody

router = APIRouter(prefix="/v1/silences", tags=["silences"])

#: The core names the input at fault by its own name; the API by its body field.
_BODY_FIELDS = {"created_by": "by", "actor": "by"}


def _refused(exc: LifecycleError) -> Exception:
    message = str(exc)
    if exc.field is None:
        return invalid("body", "body", message)
    field = _BODY_FIELDS.get(exc.field, exc.field)
    if message.startswith(f"{exc.field} "):
        message = field + message[len(exc.field) :]
    return invalid("body", field, message)


@router.get("")
def list_route(
    request: Request,
    principal: Caller,
    all: Annotated[bool, Query(description="also ended and expired silences")] = False,
) -> dict[str, list[dict[str, Any]]]:
    """The customer's silences in force (with ``all=true``, every one), newest first."""
    with context_of(request).sessions() as session:
        found = list_silences(session, customer_id=principal.customer_id, include_ended=all)
        return {"silences": [silence_json(s) for s in found]}


@router.post("", status_code=status.HTTP_201_CREATED)
def add_route(request: Request, body: SilenceBody, principal: Changer) -> dict[str, Any]:
    """Silence the customer's matching findings until ``until``: stored, neither published
    nor e-mailed."""
    try:
        until = parse_until(body.until, now=dt.datetime.now(dt.UTC))
    except LifecycleError as exc:
        raise _refused(exc) from None
    except OverflowError:
        raise invalid("body", "until", "until is too far in the future") from None
    with context_of(request).sessions.begin() as session:
        try:
            silence = add_silence(
                session,
                customer_id=principal.customer_id,
                store_id=body.store_id,
                product_id=body.product_id,
                alert_type=body.alert_type,
                until=until,
                created_by=body.by,
                reason=body.reason,
            )
        except LifecycleError as exc:
            raise _refused(exc) from None
        return silence_json(silence)


@router.delete("/{silence_id}")
def expire_route(
    request: Request,
    principal: Changer,
    silence_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    by: Annotated[str | None, Query(min_length=1, max_length=128, description="who")] = None,
) -> dict[str, Any]:
    """End a silence now. 404 if it is not the customer's; 409 if it has already ended."""
    with context_of(request).sessions.begin() as session:
        silence = session.get(Silence, silence_id)
        if silence is None or silence.customer_id != principal.customer_id:
            raise not_found(f"silence {silence_id} does not exist")
        actor = by or (
            f"api token {principal.token_id}" if principal.via == "token" else "dashboard"
        )
        try:
            expire_silence(session, silence_id=silence_id, actor=actor)
        except LifecycleError as exc:
            raise conflict(str(exc)) from None
        session.refresh(silence)
        return silence_json(silence)
