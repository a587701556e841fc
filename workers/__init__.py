"""The Celery application: ``celery -A workers worker|beat|flower`` starts every process."""

from workers.app import app

__all__ = ["app"]
