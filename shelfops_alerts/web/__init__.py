"""The web service: the HTTP door beside the workers.

FastAPI on uvicorn (``shelfops-alerts serve``): webhook intake, the alerts and silences API,
the WebSocket stream with replay, the dashboard pages and ``/healthz``. It keeps no state of
its own (tokens and sessions are in PostgreSQL, the stream in Redis), so several instances
run behind a load balancer. ``create_app(settings)`` in :mod:`shelfops_alerts.web.app`
builds it; this package's other modules import no web framework unless they serve HTTP.
"""
