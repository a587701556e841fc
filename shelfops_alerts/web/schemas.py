"""Request bodies of the HTTP API, validated by pydantic (a bad one is a 422 naming the
field; nothing is queued or changed). Events are validated again, field by field, by the
same functions the Python producer uses (``intake/events.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
)

from shelfops_alerts.payloads.values import MAX_ID_LENGTH
from shelfops_alerts.vocabulary import ACK_OUTCOMES, ALERT_TYPES

Actor = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
    Field(description="who is acting (shown in the alert's history)"),
]
Note = Annotated[str | None, Field(default=None, max_length=2000)]
Id = Annotated[
    str | None,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ID_LENGTH),
]


def _one_of(choices: tuple[str, ...]) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return AfterValidator(check)


Outcome = Annotated[
    str | None,
    _one_of(ACK_OUTCOMES),
    Field(default=None, json_schema_extra={"enum": list(ACK_OUTCOMES)}),
]
AlertType = Annotated[
    str | None,
    _one_of(ALERT_TYPES),
    Field(default=None, json_schema_extra={"enum": list(ALERT_TYPES)}),
]


class Body(BaseModel):
    # An unknown field is refused, so a body cannot name a customer: the token does.
    model_config = ConfigDict(extra="forbid")


class ForecastCompleteBody(Body):
    run_id: StrictStr | StrictInt | None = Field(
        default=None, description="the forecasting run, for the record"
    )
    skus: list[Any] | None = Field(
        default=None, description='"STORE/PRODUCT" strings; leave out to check every SKU'
    )


class SalesRecordedBody(Body):
    skus: list[Any] | None = Field(
        default=None, description='"STORE/PRODUCT" strings; leave out to check every SKU'
    )


class AckBody(Body):
    by: Actor
    note: Note = None
    outcome: Outcome = None


class ResolveBody(Body):
    by: Actor
    note: Note = None


class SilenceBody(Body):
    store_id: Id = None
    product_id: Id = None
    alert_type: AlertType = None
    until: str = Field(
        description="ISO 8601 time (UTC without offset) or a duration: 90m, 2h, 3d, 1w"
    )
    by: Actor
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Queued(BaseModel):
    task_id: str
