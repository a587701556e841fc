"""Log lines of every worker and beat in the configured format, with each task's context.

Celery sets up its own handlers; these signal receivers then give them the format of
``SHELFOPS_LOG_FORMAT`` (shelfops_alerts/logs.py) and a filter that masks secrets, and bind
each task's name, id and what it is about (customer, batch size, sweep id …) for every line
logged while it runs, whoever logs it (the task, the core, Celery's own success or failure
line). In JSON mode the worker's banner is left out, Python warnings are logged, a JSON
handler serves until Celery sets up its own, and the lines Celery's shutdown handlers write
directly are JSON too, so every line is a JSON object.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import sys
from typing import Any

from celery import Task
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    celeryd_init,
    task_postrun,
    task_prerun,
)
from celery.utils.log import get_multiprocessing_logger

from shelfops_alerts import logs
from shelfops_alerts.config import Settings

_FORMAT = {"value": "text"}


def _format_handlers(logger: logging.Logger | None = None, **_: Any) -> None:
    for each in (logger, get_multiprocessing_logger()):
        for handler in each.handlers if each is not None else ():
            logs.use_format(handler, _FORMAT["value"])


def _quiet_banner(instance: Any = None, **_: Any) -> None:
    if _FORMAT["value"] == "json" and instance is not None:
        instance.quiet = True


@functools.lru_cache(maxsize=256)
def _signature(run: Any) -> inspect.Signature:
    # Built once per task function: inspect.signature costs about 0.1 ms, at every task.
    return inspect.signature(run)


def arguments(task: Task, args: Any, kwargs: Any) -> dict[str, Any]:
    """A task call's arguments by parameter name (keyword arguments only if they do not fit)."""
    args, kwargs = list(args or ()), dict(kwargs or {})
    try:
        return dict(_signature(task.run).bind_partial(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        return kwargs


def _bind_task(task_id: str = "", task: Task | None = None, **signal: Any) -> None:
    logs.clear()
    if task is None:
        return
    found = logs.task_fields(arguments(task, signal.get("args"), signal.get("kwargs")))
    logs.bind(task_name=task.name, task_id=task_id, **found)


def _unbind_task(**_: Any) -> None:
    logs.clear()


def _say_json(message: str, f: Any = None) -> None:
    # Celery's signal handlers say "worker: Warm shutdown" with a raw os.write, not through
    # logging (which takes locks a signal handler must not); this says it as a JSON line.
    from celery import _original_os_write

    stream = f or sys.__stderr__
    if stream is None:
        return
    line = logs.json_line("warning", "celery.worker", message).encode()
    with contextlib.suppress(OSError, ValueError):  # nowhere to say it: say nothing
        _original_os_write(stream.fileno(), line)


def _json_from_the_start() -> None:
    # Until Celery sets up logging (it replaces the root handlers), early lines such as its
    # warning about running as root go through this handler as JSON.
    logging.captureWarnings(True)
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        logs.use_format(handler, "json")
        root.addHandler(handler)
    import celery.apps.worker

    if hasattr(celery.apps.worker, "safe_say"):
        celery.apps.worker.safe_say = _say_json


def install(settings: Settings) -> None:
    """Connect the receivers (once per process; a second call only updates the format)."""
    _FORMAT["value"] = settings.log_format
    for secret in settings.secrets():
        logs.register_secret(secret)
    if settings.log_format == "json":
        _json_from_the_start()
    for signal, receiver in (
        (after_setup_logger, _format_handlers),
        (after_setup_task_logger, _format_handlers),
        (celeryd_init, _quiet_banner),
        (task_prerun, _bind_task),
        (task_postrun, _unbind_task),
    ):
        signal.connect(receiver, weak=False, dispatch_uid=f"shelfops.logs.{receiver.__name__}")
