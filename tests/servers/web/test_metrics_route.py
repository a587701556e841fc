"""``GET /metrics`` on the web service: the exporter's figures, no token needed."""

from __future__ import annotations

from shelfops_alerts.intake.client import send_event
from shelfops_alerts.vocabulary import FORECAST_COMPLETED_TASK
from tests.support.web import api


def test_the_web_service_serves_the_metrics_the_exporter_serves(db, web, settings):
    # Given three events waiting in the alerts queue (no worker consumes it here)
    for n in range(3):
        send_event(FORECAST_COMPLETED_TASK, {"customer_id": f"c{n}"}, settings=settings)

    # When Prometheus scrapes the web service
    with api(web) as anonymous:
        answer = anonymous.get("/metrics")

    # Then it answers in Prometheus text format, without a redirect or a token
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    body = answer.text
    # And the figures are read live: the queue holds exactly those three messages
    assert 'shelfops_queue_depth{queue="alerts"} 3.0' in body
    for name in ("shelfops_alerts_active", "shelfops_outbox_unpublished_changes"):
        assert f"# TYPE {name} gauge" in body
