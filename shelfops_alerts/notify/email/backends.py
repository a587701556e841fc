"""Senders: small classes behind one interface, :class:`EmailBackend`.

* :class:`FileBackend` writes each message as an ``.eml`` file (development, tests, demos);
* :class:`ConsoleBackend` prints it;
* :class:`~shelfops_alerts.notify.email.sendgrid_backend.SendGridBackend` sends it for real.

:func:`backend_for` picks one from the settings (``SHELFOPS_EMAIL_BACKEND``).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TextIO

from shelfops_alerts.config import Settings
from shelfops_alerts.notify.email.message import OutgoingEmail, SendResult, new_message_id, to_mime
from shelfops_alerts.notify.email.sendgrid_backend import SendGridBackend

#: Characters kept from a delivery id when it becomes part of a file name.
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


class EmailBackend(Protocol):
    """Sends one e-mail, or raises TransientSendError / PermanentSendError."""

    def send(self, email: OutgoingEmail) -> SendResult: ...


class FileBackend:
    """Writes one RFC 5322 ``.eml`` file per message into ``outbox_dir`` (created if missing).

    Files are written under a temporary name and renamed into place, so a reader watching the
    folder never sees half a message. Names sort by time: ``<UTC timestamp>-<delivery id>.eml``.
    """

    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = Path(outbox_dir)

    def send(self, email: OutgoingEmail) -> SendResult:
        message_id = new_message_id(email.sender)
        data = to_mime(email, message_id=message_id).as_bytes()
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        tag = _UNSAFE_IN_FILE_NAME.sub("_", email.delivery_id or "") or uuid.uuid4().hex
        target = self.outbox_dir / f"{stamp}-{tag}.eml"
        # The temporary name does not end in .eml, so globbing the outbox never picks it up.
        fd, temporary = tempfile.mkstemp(dir=self.outbox_dir, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return SendResult(provider_message_id=message_id)


class ConsoleBackend:
    """Prints each message's headers and plain-text body to ``stream`` (default: the current
    ``sys.stdout``, looked up at each send so redirected output is followed)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def send(self, email: OutgoingEmail) -> SendResult:
        message_id = new_message_id(email.sender)
        message = to_mime(email, message_id=message_id)
        lines = [f"{name}: {value}" for name, value in message.items()]
        lines += ["", email.text.rstrip("\n"), "-" * 72, ""]
        stream = self.stream if self.stream is not None else sys.stdout
        with self._lock:  # one message at a time, never interleaved between threads
            stream.write("\n".join(lines))
            stream.flush()
        return SendResult(provider_message_id=message_id)


def backend_for(settings: Settings) -> EmailBackend:
    """The sender ``settings.email_backend`` names: ``file``, ``console`` or ``sendgrid``."""
    if settings.email_backend == "file":
        return FileBackend(settings.outbox_dir)
    if settings.email_backend == "console":
        return ConsoleBackend()
    if settings.email_backend == "sendgrid":
        return SendGridBackend(
            api_key=settings.sendgrid_api_key,  # a Secret: revealed only to the client
            host=settings.sendgrid_host,
            timeout_s=settings.email_timeout_s,
        )
    raise ValueError(f"unknown e-mail backend {settings.email_backend!r}")


__all__ = [
    "ConsoleBackend",
    "EmailBackend",
    "FileBackend",
    "SendGridBackend",
    "backend_for",
]
