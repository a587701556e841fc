"""A fake SendGrid Mail Send API: a real HTTP server on 127.0.0.1, for tests.

It stands in for ``POST /v3/mail/send`` on a real socket, so code in other processes (Celery
workers) can post to it through ``SHELFOPS_SENDGRID_HOST=fake.url``::

    with FakeSendGridAPI(api_key="SG.test") as fake:
        fake.script([500, (429, {"Retry-After": "3"}), "drop", ("sleep", 2), (400, "bad to")])
        ...                       # each request takes the next scripted answer, then 202
        fake.requests[0].json     # every request is recorded, in arrival order

A request with the wrong bearer key gets 401, and a malformed body 400, like SendGrid; neither
takes an answer from the script. Scripted answers are, one per request:

* ``202`` (any status): that status, with a SendGrid-like JSON error body unless it is 2xx;
* ``(status, headers)`` when the second item is a dict of strings, ``(status, body)`` otherwise,
  or ``(status, headers, body)``; a body may be ``str``, ``bytes`` or JSON-able;
* ``"drop"``: the connection is closed without any answer;
* ``("sleep", seconds)``: wait that long, then answer 202 (to make clients time out);
* ``("ratelimit", seconds)``: 429 with ``X-RateLimit-Reset`` that many seconds from the
  moment of the answer (epoch seconds, rounded up, as SendGrid sends it);
* ``("hold", seconds)``: the mail is *accepted* at once (recorded as 202), but the answer is
  held back that long: a client killed meanwhile leaves an accepted mail it never heard of;
* a :class:`Reply` for anything else.

Answers can also follow the clock (the fault suite's provider outage)::

    fake.phase(500, until=t0 + 60)                          # every request until then: 500
    fake.phase(Reply(429, reset_at=t0 + 70), until=t0 + 70)  # then 429 with that reset time

A phase in force wins over the script; after the last phase, the script (then 202) answers.

A request whose client hangs up while the fake is still waiting to answer (a worker killed
mid-request) is recorded with ``answered=None`` and ``client_gone=True``: the provider never
accepted it. :attr:`FakeSendGridAPI.accepted` lists only requests answered 2xx.
"""

from __future__ import annotations

import dataclasses
import json
import math
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

MAIL_SEND_PATH = "/v3/mail/send"


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``drop`` closes the connection instead of answering."""

    status: int = 202
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    delay_s: float = 0.0
    drop: bool = False
    #: Seconds from the answer to put in ``X-RateLimit-Reset`` (a 429's reset time).
    reset_in_s: float | None = None
    #: A fixed moment (epoch seconds) to put in ``X-RateLimit-Reset`` instead.
    reset_at: float | None = None
    #: Accept at once (recorded as answered), then hold the answer back this long.
    held_s: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the fake received it, and the status it answered (None: dropped)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    received_at: float
    answered: int | None
    client_gone: bool = False
    #: The client's TCP port (which process sent it can be found from it).
    client_port: int = 0


def as_reply(item: Any) -> Reply:
    """A scripted item (see the module docstring) as a :class:`Reply`."""
    if isinstance(item, Reply):
        return item
    if item == "drop":
        return Reply(drop=True)
    if isinstance(item, int):
        return Reply(status=item)
    if isinstance(item, tuple) and len(item) == 2 and item[0] == "sleep":
        return Reply(delay_s=float(item[1]))
    if isinstance(item, tuple) and len(item) == 2 and item[0] == "ratelimit":
        return Reply(status=429, reset_in_s=float(item[1]))
    if isinstance(item, tuple) and len(item) == 2 and item[0] == "hold":
        return Reply(held_s=float(item[1]))
    if isinstance(item, tuple) and len(item) == 2:
        status, extra = item
        if isinstance(extra, Mapping) and all(isinstance(v, str) for v in extra.values()):
            return Reply(status=status, headers=dict(extra))
        return Reply(status=status, body=extra)
    if isinstance(item, tuple) and len(item) == 3:
        return Reply(status=item[0], headers=dict(item[1]), body=item[2])
    raise ValueError(f"cannot script {item!r}")


def problems(payload: Any) -> list[str]:
    """What SendGrid would reject in a Mail Send body (empty when it is well formed)."""
    if not isinstance(payload, dict):
        return ["body must be a JSON object"]
    found = []
    try:
        if "@" not in payload["personalizations"][0]["to"][0]["email"]:
            found.append("personalizations[0].to[0].email is not an address")
    except (KeyError, IndexError, TypeError):
        found.append("personalizations[0].to[0].email is required")
    if "@" not in str((payload.get("from") or {}).get("email", "")):
        found.append("from.email is required")
    if not isinstance(payload.get("subject"), str) or not payload["subject"]:
        found.append("subject is required")
    contents = payload.get("content") or []
    types = {
        c.get("type") for c in contents if isinstance(c, dict) and isinstance(c.get("value"), str)
    }
    if not {"text/plain", "text/html"} <= types:
        found.append("content must hold text/plain and text/html")
    personal = payload.get("personalizations") or [{}]
    if not payload.get("custom_args") and not (personal[0] or {}).get("custom_args"):
        found.append("custom_args are required (alert_id, delivery_id)")
    return found


def _error_body(message: str, field_name: str | None = None) -> dict[str, Any]:
    return {"errors": [{"message": message, "field": field_name, "help": None}]}


class FakeSendGridAPI:
    """The fake server; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self, api_key: str = "SG.fake-key") -> None:
        self.api_key = api_key
        self._lock = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._script: deque[Reply] = deque()
        self._phases: deque[tuple[float, Reply]] = deque()
        self._ids = count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeSendGridAPI:
        server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server = server
        # A short poll interval keeps stop() (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-sendgrid"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSendGridAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests use ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL to give the client as its host, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError("the fake SendGrid API is not running")
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def accepted(self) -> list[RecordedRequest]:
        """The requests answered 2xx: the mail the provider took."""
        return [r for r in self.requests if r.answered is not None and 200 <= r.answered < 300]

    def script(self, replies: Iterable[Any]) -> None:
        """Queue answers for the next valid requests (after them: 202)."""
        queued = [as_reply(item) for item in replies]
        with self._lock:
            self._script.extend(queued)

    def phase(self, reply: Any, *, until: float) -> None:
        """Answer every valid request with ``reply`` (scripted form) until the epoch time
        ``until``; phases follow one another in the order given."""
        with self._lock:
            self._phases.append((until, as_reply(reply)))

    def reset(self) -> None:
        """Forget recorded requests and any answers still scripted or phased."""
        with self._lock:
            self._requests.clear()
            self._script.clear()
            self._phases.clear()

    def wait_for_requests(self, number: int, timeout_s: float = 10.0) -> list[RecordedRequest]:
        """Block until ``number`` requests arrived; raise TimeoutError if they do not."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._requests) >= number, timeout_s):
                raise TimeoutError(f"expected {number} requests, got {len(self._requests)}")
            return list(self._requests)

    # -- used by the handler -----------------------------------------------------------------
    def _decide(self, authorization: str | None, payload: Any) -> Reply:
        if authorization != f"Bearer {self.api_key}":
            message = "The provided authorization grant is invalid, expired, or revoked"
            return Reply(401, body=_error_body(message))
        found = problems(payload)
        if found:
            return Reply(400, body={"errors": [{"message": p, "field": None} for p in found]})
        with self._lock:
            while self._phases and self._phases[0][0] <= time.time():
                self._phases.popleft()
            if self._phases:
                reply = self._phases[0][1]
            else:
                reply = self._script.popleft() if self._script else Reply()
        if 200 <= reply.status < 300 and "X-Message-Id" not in reply.headers:
            headers_out = {**reply.headers, "X-Message-Id": f"fake-{next(self._ids)}"}
            reply = dataclasses.replace(reply, headers=headers_out)
        return reply

    def _record(self, request: RecordedRequest) -> int:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()
            return len(self._requests) - 1

    def _client_gone(self, index: int, *, accepted: bool = False) -> None:
        with self._lock:
            answered = self._requests[index].answered if accepted else None
            self._requests[index] = dataclasses.replace(
                self._requests[index], answered=answered, client_gone=True
            )
            self._lock.notify_all()


class _QuietServer(ThreadingHTTPServer):
    # Handler threads never hold up stop(); a client that hung up (a timeout test) is no error.
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def _handler_for(fake: FakeSendGridAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                payload = json.loads(body or b"null")
            except ValueError:
                payload = None
            headers = dict(self.headers.items())
            if self.path != MAIL_SEND_PATH:
                reply = Reply(404, body=_error_body(f"no route {self.path}"))
            else:
                reply = fake._decide(self.headers.get("Authorization"), payload)
            index = fake._record(
                RecordedRequest(
                    "POST",
                    self.path,
                    headers,
                    body,
                    payload,
                    time.time(),
                    None if reply.drop else reply.status,
                    client_port=int(self.client_address[1]),
                )
            )
            if reply.delay_s and not self._wait_for_client(reply.delay_s):
                fake._client_gone(index)
                return
            if reply.held_s and not self._wait_for_client(reply.held_s):
                fake._client_gone(index, accepted=True)  # taken, though nobody heard so
                return
            if reply.reset_in_s is not None or reply.reset_at is not None:
                at = reply.reset_at if reply.reset_at is not None else time.time()
                reset = math.ceil(at + (reply.reset_in_s or 0.0))
                reply = dataclasses.replace(
                    reply, headers={**reply.headers, "X-RateLimit-Reset": str(reset)}
                )
            if reply.drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._answer(reply)

        def _wait_for_client(self, seconds: float) -> bool:
            """Wait ``seconds``; False as soon as the client hangs up (EOF on its socket)."""
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                readable, _, _ = select.select([self.connection], [], [], min(left, 0.05))
                try:
                    if readable and not self.connection.recv(1, socket.MSG_PEEK):
                        return False
                except OSError:  # reset by the peer: gone too
                    return False
            return True

        def _answer(self, reply: Reply) -> None:
            data = reply.body
            if data is None and not 200 <= reply.status < 300:
                data = _error_body(f"scripted HTTP {reply.status}")
            if data is not None and not isinstance(data, str | bytes):
                data = json.dumps(data)
            raw = data.encode() if isinstance(data, str) else (data or b"")
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler
