"""Log lines: text for people, or one JSON object per line for log shippers.

``SHELFOPS_LOG_FORMAT`` (``text`` or ``json``) picks the format of every worker, beat and
the CLI. A JSON line carries ``time`` (UTC), ``level``, ``logger``, ``message``, the
process, an ``exception`` when there is one, and, while a task runs, the fields bound to
its context: ``task_name``, ``task_id`` and what the task is about (``customer_id``,
``batch_size``, ``sweep_id``, ``delivery_id`` …; see :func:`task_fields`). The worker binds
them from Celery's task signals (``workers/logs.py``); nothing here imports Celery.

No secret reaches a line in either format: :class:`RedactFilter` masks the password of any
URL, SendGrid API keys, bearer tokens and the secret values registered with
:func:`register_secret` (every secret setting, as ``load_settings`` reads it), in the message
and in tracebacks, with ``**********``.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from shelfops_alerts.config.secrets import MASK, Secret, mask_urls

#: Fields bound while a task runs (or a command works), merged into every JSON line.
_CONTEXT: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "shelfops_log_context", default=None
)
#: Arguments whose value names what a task is about, copied as they are.
ID_FIELDS = ("customer_id", "run_id", "sweep_id", "delivery_id", "digest_id")
#: The format Celery uses for its own text lines (kept for the CLI's text lines too).
TEXT_FORMAT = "[%(asctime)s: %(levelname)s/%(processName)s] %(message)s"

_SENDGRID_KEY = re.compile(r"SG\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
#: Literal secret values (long enough not to be ordinary words), masked wherever they appear.
_SECRETS: set[str] = set()


def register_secret(value: str | Secret | None) -> None:
    """Mask ``value`` (a secret's value, a URL's password) in every line from now on (values
    under 8 characters are ignored: a short password would mask ordinary words; URL
    passwords are masked by pattern anyway)."""
    values = value.concealed() if isinstance(value, Secret) else [value or ""]
    _SECRETS.update(each for each in values if len(each) >= 8)


def redact(text: str) -> str:
    """``text`` with passwords in URLs, SendGrid keys, bearer tokens and registered secrets
    replaced by :data:`MASK`."""
    text = mask_urls(text)
    text = _SENDGRID_KEY.sub(f"SG.{MASK}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{MASK}", text)
    for secret in _SECRETS:
        text = text.replace(secret, MASK)
    return text


def bind(**fields: Any) -> contextvars.Token[dict[str, Any] | None]:
    """Add ``fields`` to every line logged in this context; returns the token for :func:`reset`."""
    return _CONTEXT.set({**bound(), **fields})


def reset(token: contextvars.Token[dict[str, Any] | None]) -> None:
    """Drop what the :func:`bind` that returned ``token`` added."""
    _CONTEXT.reset(token)


def clear() -> None:
    """Drop every bound field (a new task starts from nothing)."""
    _CONTEXT.set(None)


def bound() -> dict[str, Any]:
    """The fields bound right now."""
    return dict(_CONTEXT.get() or {})


@contextmanager
def fields(**values: Any) -> Iterator[None]:
    """Bind ``values`` for the ``with`` block."""
    token = bind(**values)
    try:
        yield
    finally:
        reset(token)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _sku_keys(value: Any) -> set[tuple[Any, ...]]:
    """The (store, product) keys a chain payload's list names: rows whose first two items
    are the key, or the compact ``{"stores", "products", ...}`` form a check writes."""
    if isinstance(value, Mapping):
        stores, products = value.get("stores"), value.get("products")
        if isinstance(stores, list) and isinstance(products, list):
            return {(str(s), str(p)) for s, p in zip(stores, products, strict=False)}
        return set()
    if not isinstance(value, list):
        return set()
    return {tuple(row[:2]) for row in value if isinstance(row, list | tuple) and len(row) >= 2}


def task_fields(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """What a task is about, from its arguments by name: the ids in :data:`ID_FIELDS`,
    ``batch_size`` (the SKUs it checks), and the same read from a batch or result passed
    along a chain (a dict with ``customer_id``, ``evaluated``/``skus_checked``, ``context``).
    Only ids and counts are taken; nothing else of a payload reaches the log."""
    found: dict[str, Any] = {}

    def take_context(context: Any) -> None:
        if isinstance(context, Mapping):
            if _scalar(context.get("sweep_id")):
                found.setdefault("sweep_id", context["sweep_id"])
            if _scalar(context.get("batch")):
                found.setdefault("batch_no", context["batch"])

    for name, value in arguments.items():
        if name in ID_FIELDS and _scalar(value):
            found[name] = value
        elif name == "skus" and isinstance(value, list | tuple):
            found["batch_size"] = len(value)
        elif name == "context":
            take_context(value)
        elif isinstance(value, Mapping):
            if _scalar(value.get("customer_id")):
                found.setdefault("customer_id", value["customer_id"])
            if isinstance(value.get("skus_checked"), int):
                found.setdefault("batch_size", value["skus_checked"])
            else:
                seen = set().union(
                    *(
                        _sku_keys(value.get(key))
                        for key in ("evaluated", "unknown", "without_forecast", "rejected")
                    )
                )
                if seen:
                    found.setdefault("batch_size", len(seen))
            take_context(value.get("context"))
    return found


class RedactFilter(logging.Filter):
    """Masks secrets in a record's message and traceback before any formatter sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_shelfops_redacted", False):
            return True
        try:
            record.msg = redact(record.getMessage())
            record.args = None
        except Exception:  # a record whose arguments do not fit its format: leave it be
            return True
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record._shelfops_redacted = True
        return True


def _entry(created: float, level: str, logger: str, message: str) -> dict[str, Any]:
    return {
        "time": dt.datetime.fromtimestamp(created, dt.UTC).isoformat(timespec="milliseconds"),
        "level": level.lower(),
        "logger": logger,
        "message": redact(message),
    }


def json_line(level: str, logger: str, message: str) -> str:
    """One JSON log line (with its newline) built without the logging machinery, for what
    must be written from a signal handler."""
    entry = {**_entry(time.time(), level, logger, message), "pid": os.getpid()}
    return json.dumps(entry, default=str, ensure_ascii=False) + "\n"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = _entry(record.created, record.levelname, record.name, record.getMessage())
        entry.update(process=record.processName, pid=record.process)
        entry.update(bound())
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = redact(record.exc_text)
        return json.dumps(entry, default=str, ensure_ascii=False)


def use_format(handler: logging.Handler, log_format: str) -> None:
    """Make ``handler`` write ``log_format`` lines, with secrets masked (``text`` keeps the
    handler's own text formatter, such as Celery's)."""
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    elif isinstance(handler.formatter, JsonFormatter) or handler.formatter is None:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    if not any(isinstance(f, RedactFilter) for f in handler.filters):
        handler.addFilter(RedactFilter())


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (a test may capture it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


@contextmanager
def to_stderr(log_format: str, *, level: int = logging.WARNING) -> Iterator[StderrHandler]:
    """Send the root logger's records to stderr in ``log_format`` for the ``with`` block (the
    CLI's logging); the handler is yielded, so its format can change once settings are read."""
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    use_format(handler, log_format)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
