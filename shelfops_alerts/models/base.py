"""The declarative base (the domain's words live in :mod:`shelfops_alerts.vocabulary`)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
