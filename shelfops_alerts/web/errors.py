"""The API's refusals, shaped as FastAPI shapes its own (``{"detail": ...}``)."""

from __future__ import annotations

from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError


def invalid(where: str, field: str, message: str) -> RequestValidationError:
    """A 422 naming the field at fault (``where`` is ``body``, ``query`` or ``path``)."""
    return RequestValidationError(
        [{"type": "value_error", "loc": (where, field), "msg": message, "input": None}]
    )


def not_found(message: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, message)


def conflict(message: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, message)
