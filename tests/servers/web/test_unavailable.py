"""When Redis is down: health says so, and the webhook asks its caller to retry."""

from __future__ import annotations

from shelfops_alerts.stack.embedded import free_port
from tests.support.waiting import wait_until
from tests.support.web import WebServer, api, new_token


def test_without_redis_health_is_503_and_an_event_is_refused_for_a_retry(db, base_env, tmp_path):
    # Given a web service whose Redis is not there
    token = new_token(db, "acme")
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    server = WebServer(base_env, tmp_path, SHELFOPS_REDIS_URL=dead_redis)
    server.service.start()
    try:
        with api(server) as anonymous, api(server, token) as producer:

            def answered():
                try:
                    return anonymous.get("/healthz")
                except Exception:
                    return None

            # Then health names what is down
            health = wait_until(answered, 30, "the web service to answer")
            assert health.status_code == 503
            body = health.json()
            assert body["ok"] is False and body["database"] == {"ok": True}
            assert body["redis"]["ok"] is False and body["redis"]["error"]

            # And a webhook call (its token found in the database) is told to come back
            answer = producer.post("/v1/events/forecast-complete", json={})
            assert answer.status_code == 503
            assert answer.headers["retry-after"] == "5"
            assert "Redis is unavailable" in answer.json()["detail"]
    finally:
        server.stop()
