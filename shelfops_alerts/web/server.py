"""Running the app: ``shelfops-alerts serve`` (uvicorn, with uvloop and httptools)."""

from __future__ import annotations

import logging

from shelfops_alerts.config import Settings

#: What uvicorn's WebSocket protocol logs as an error after a handshake refused with an
#: HTTP response (401, 403, 422 on /v1/stream): the refusal is intended, not an error.
_DENIAL_NOISE = "ASGI callable returned without completing handshake."


class _RefusedHandshakes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DENIAL_NOISE


def serve(settings: Settings, *, host: str, port: int, access_log: bool = True) -> None:
    """Serve the web service in the foreground until SIGINT/SIGTERM."""
    import uvicorn

    from shelfops_alerts.web.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        access_log=access_log,
        proxy_headers=True,
        server_header=False,
        log_level="info",
    )
    logging.getLogger("uvicorn.error").addFilter(_RefusedHandshakes())
    uvicorn.Server(config).run()
