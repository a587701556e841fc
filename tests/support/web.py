"""The web service as its users meet it: a real `shelfops-alerts serve` process, tokens,
alerts written straight into the database, HTTP and WebSocket clients."""

from __future__ import annotations

import base64
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from shelfops_alerts.stack import processes
from shelfops_alerts.stack.embedded import free_port
from shelfops_alerts.web.sessions import create_login_link, login_url
from shelfops_alerts.web.tokens import create_token


class WebServer:
    """`shelfops-alerts serve` on a free port, with the test stack's settings."""

    def __init__(self, base_env: dict[str, str], log_dir: Path, **overrides: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHELFOPS_")}
        self.env = {
            **env,
            **base_env,
            "SHELFOPS_DASHBOARD_URL": f"{self.url}/alerts",
            "SHELFOPS_STREAM_HEARTBEAT_S": "1",
            **overrides,
        }
        self.service = processes.web(env=self.env, port=self.port, log_dir=log_dir)

    def start(self) -> WebServer:
        self.service.start()
        processes.wait_for_web(self.service, self.port)
        return self

    def stop(self) -> None:
        self.service.stop(grace_s=5)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/stream"


def new_token(factory: sessionmaker[Session], customer_id: str) -> str:
    with factory.begin() as session:
        token, _ = create_token(session, customer_id=customer_id, name="test")
    return token


def api(server: WebServer, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=10)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def put_alert(
    factory: sessionmaker[Session],
    customer_id: str,
    store_id: str = "S1",
    product_id: str = "P1",
    *,
    alert_type: str = "stockout_predicted",
    severity: str = "high",
    status: str = "open",
    message: str = "Product P1 at store S1 runs out in 1.5 days.",
    metadata: dict[str, Any] | None = None,
) -> int:
    """An alert with its `created` history row, written as persist would write them."""
    with factory.begin() as session:
        alert_id = session.execute(
            text(
                "INSERT INTO alerts (customer_id, store_id, product_id, alert_type, severity,"
                " status, message, metadata) VALUES (:c, :s, :p, :t, :v, :st, :m,"
                " CAST(:md AS jsonb)) RETURNING id"
            ),
            {
                "c": customer_id,
                "s": store_id,
                "p": product_id,
                "t": alert_type,
                "v": severity,
                "st": status,
                "m": message,
                "md": json.dumps(metadata or {"current_stock": 15.0, "daily_demand": 10.0}),
            },
        ).scalar_one()
        session.execute(
            text(
                "INSERT INTO alert_history (alert_id, event, severity, status, published_at)"
                " VALUES (:a, 'created', :v, :st, now())"
            ),
            {"a": alert_id, "v": severity, "st": status},
        )
    return int(alert_id)


@contextmanager
def session_for(web, db, customer: str) -> Iterator[tuple[httpx.Client, str]]:
    """A browser logged in for ``customer``, and its CSRF token (as the page carries it)."""
    with db.begin() as session:
        code = create_login_link(session, customer_id=customer, ttl_s=60)
    with httpx.Client(base_url=web.url, timeout=10) as browser:
        browser.get(login_url(web.url, code))
        page = browser.get("/alerts").text
        yield browser, page.split('name="csrf-token" content="')[1].split('"')[0]


class SilentClient:
    """A WebSocket client that connects and then reads nothing until asked: a dashboard on
    a stalled network. (Client libraries read ahead into memory; this one cannot.)"""

    def __init__(self, server: WebServer, token: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Authorization: Bearer {token}\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def read_until_closed(self, timeout: float = 20) -> tuple[list[dict[str, Any]], int | None]:
        """Everything sent until the server ended the connection: the text messages (JSON)
        and the close code, if a close frame made it through."""
        data = b""
        self.sock.settimeout(timeout)
        while chunk := self.sock.recv(1 << 20):
            data += chunk
        self.sock.close()
        messages: list[dict[str, Any]] = []
        code = None
        at = 0
        while at + 2 <= len(data):
            opcode, size, at = data[at] & 0x0F, data[at + 1] & 0x7F, at + 2
            if size in (126, 127):
                width = 2 if size == 126 else 8
                size, at = int.from_bytes(data[at : at + width], "big"), at + width
            if at + size > len(data):
                break  # cut short when the server closed the connection
            payload, at = data[at : at + size], at + size
            if opcode == 1:
                messages.append(json.loads(payload))
            elif opcode == 8:
                code = int.from_bytes(payload[:2], "big")
        return messages, code
