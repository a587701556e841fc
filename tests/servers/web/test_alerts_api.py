"""The alerts API on the real database: lists, pages, counts, history, ack and resolve —
always and only the token's customer's."""

from __future__ import annotations

import json

import pytest
import redis

from shelfops_alerts.publish.changes import channel_for, stream_for
from tests.support.data import rows
from tests.support.web import api, new_token, put_alert


@pytest.fixture()
def acme(db, web):
    with api(web, new_token(db, "acme")) as client:
        yield client


def test_the_list_is_newest_change_first_filtered_and_paged_without_gaps(db, acme):
    # Given 7 alerts of acme (and one of another customer)
    ids = [
        put_alert(db, "acme", f"S{n % 2}", f"P{n}", severity=("high", "low")[n % 2])
        for n in range(7)
    ]
    put_alert(db, "globex")

    # When it is read three at a time
    seen, cursor, pages = [], None, 0
    while True:
        page = acme.get("/v1/alerts", params={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200
        body = page.json()
        seen += [a["alert_id"] for a in body["alerts"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    # Then every acme alert comes once, newest first, and nothing else
    assert pages == 3 and seen == sorted(ids, reverse=True)
    first = acme.get("/v1/alerts", params={"limit": 1}).json()["alerts"][0]
    # Each alert has the channel message's fields
    assert {
        "alert_id",
        "history_id",
        "customer_id",
        "store_id",
        "product_id",
        "alert_type",
        "severity",
        "status",
        "message",
        "metadata",
        "created_at",
        "updated_at",
        "event",
        "changed_at",
    } <= set(first)
    assert first["event"] == "created" and first["customer_id"] == "acme"

    # And the filters narrow it
    low = acme.get("/v1/alerts", params={"severity": "low", "store": "S1"}).json()["alerts"]
    assert {a["alert_id"] for a in low} == {ids[1], ids[3], ids[5]}
    assert (
        acme.get("/v1/alerts", params={"product": "P4"}).json()["alerts"][0]["alert_id"] == ids[4]
    )
    assert acme.get("/v1/alerts", params={"status": "resolved"}).json()["alerts"] == []
    assert len(acme.get("/v1/alerts", params={"status": "active"}).json()["alerts"]) == 7
    assert acme.get("/v1/alerts", params={"type": "anomaly_detected"}).json()["alerts"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"type": "fire"}, "type"),
        ({"severity": "urgent"}, "severity"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_a_bad_filter_is_422_naming_it(acme, params, field):
    answer = acme.get("/v1/alerts", params=params)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", field]


def test_counts_are_per_status_and_severity_of_active_alerts(db, acme):
    put_alert(db, "acme", "S1", "P1", severity="critical")
    put_alert(db, "acme", "S1", "P2", severity="critical", status="acknowledged")
    put_alert(db, "acme", "S2", "P3", severity="low", alert_type="forecast_accuracy_low")
    put_alert(db, "acme", "S2", "P4", severity="low", status="resolved")
    put_alert(db, "globex", "S1", "P1", severity="critical")
    counts = acme.get("/v1/alerts/counts").json()
    assert counts["open"] == {"low": 1, "medium": 0, "high": 0, "critical": 1}
    assert counts["acknowledged"] == {"low": 0, "medium": 0, "high": 0, "critical": 1}
    only_s2 = acme.get("/v1/alerts/counts", params={"store": "S2"}).json()
    assert sum(only_s2["open"].values()) == 1


def test_one_alert_comes_with_its_history_and_another_customers_is_404(db, acme):
    mine = put_alert(db, "acme", metadata={"current_stock": 4.0, "recommendation": "Order 60"})
    theirs = put_alert(db, "globex")
    shown = acme.get(f"/v1/alerts/{mine}")
    assert shown.status_code == 200
    assert shown.json()["metadata"]["recommendation"] == "Order 60"
    assert [h["event"] for h in shown.json()["history"]] == ["created"]
    # Another customer's alert is exactly as absent as one that does not exist
    for missing in (theirs, 999_999):
        answer = acme.get(f"/v1/alerts/{missing}")
        assert answer.status_code == 404
        assert answer.json() == {"detail": f"alert {missing} does not exist"}
    assert acme.get("/v1/alerts/0").status_code == 422


def test_ack_and_resolve_change_the_alert_and_publish_as_the_cli_does(db, acme, settings):
    alert_id = put_alert(db, "acme")
    client = redis.Redis.from_url(settings.redis_url.reveal())
    listener = client.pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel_for("acme"))
    listener.get_message(timeout=1)

    # When it is acknowledged with an outcome and a note
    acked = acme.post(
        f"/v1/alerts/{alert_id}/ack",
        json={"by": " ann ", "note": "ordered 60", "outcome": "ordered"},
    )

    # Then the answer is the alert after the change
    assert acked.status_code == 200
    body = acked.json()
    assert (body["status"], body["acknowledged_by"], body["acknowledged_outcome"]) == (
        "acknowledged",
        "ann",
        "ordered",
    )
    assert [h["event"] for h in body["history"]] == ["created", "acknowledged"]
    # And the change went out on the channel and on the stream, and is marked published
    message = json.loads(listener.get_message(timeout=5)["data"])
    assert (message["event"], message["alert_id"], message["status"]) == (
        "acknowledged",
        alert_id,
        "acknowledged",
    )
    [(_, entry)] = client.xrange(stream_for("acme"))
    assert json.loads(entry[b"change"]) == message
    assert rows(db, "SELECT count(*) FROM alert_history WHERE published_at IS NULL")[0][0] == 0

    # When it is acknowledged again: refused, nothing changes
    again = acme.post(f"/v1/alerts/{alert_id}/ack", json={"by": "bob"})
    assert again.status_code == 409 and "cannot be acknowledged" in again.json()["detail"]

    # When it is resolved
    resolved = acme.post(f"/v1/alerts/{alert_id}/resolve", json={"by": "bob", "note": "delivered"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    message = json.loads(listener.get_message(timeout=5)["data"])
    assert message["event"] == "resolved"
    assert client.xlen(stream_for("acme")) == 2


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("ack", {}, "by"),
        ("ack", {"by": "   "}, "by"),
        ("ack", {"by": "ann", "outcome": "shrug"}, "outcome"),
        ("ack", {"by": "ann", "note": "x" * 2001}, "note"),
        ("resolve", {"by": "ann", "outcome": "ordered"}, "outcome"),
    ],
)
def test_a_bad_ack_or_resolve_is_422_naming_the_field_and_changes_nothing(
    db, acme, action, body, field
):
    alert_id = put_alert(db, "acme")
    answer = acme.post(f"/v1/alerts/{alert_id}/{action}", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][:2] == ["body", field]
    assert rows(db, "SELECT status FROM alerts")[0][0] == "open"


def test_a_token_never_changes_another_customers_alert(db, acme, settings):
    theirs = put_alert(db, "globex")
    for action in ("ack", "resolve"):
        answer = acme.post(f"/v1/alerts/{theirs}/{action}", json={"by": "mallory"})
        assert answer.status_code == 404
    assert rows(db, "SELECT status FROM alerts")[0][0] == "open"
    assert [r[0] for r in rows(db, "SELECT event FROM alert_history")] == ["created"]
    assert redis.Redis.from_url(settings.redis_url.reveal()).exists(stream_for("globex")) == 0


def test_every_route_wants_a_token(db, web):
    alert_id = put_alert(db, "acme")
    with api(web) as anonymous:
        for method, path in [
            ("GET", "/v1/alerts"),
            ("GET", "/v1/alerts/counts"),
            ("GET", f"/v1/alerts/{alert_id}"),
            ("POST", f"/v1/alerts/{alert_id}/ack"),
            ("POST", f"/v1/alerts/{alert_id}/resolve"),
            ("GET", "/v1/silences"),
            ("POST", "/v1/silences"),
            ("DELETE", "/v1/silences/1"),
            ("POST", "/v1/events/sales-recorded"),
        ]:
            answer = anonymous.request(method, path, json={"by": "x"} if method == "POST" else None)
            assert answer.status_code == 401, (method, path)
    assert rows(db, "SELECT status FROM alerts")[0][0] == "open"


def test_health_and_the_openapi_description_need_no_token(web):
    with api(web) as anonymous:
        health = anonymous.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {"database": {"ok": True}, "redis": {"ok": True}, "ok": True}
        spec = anonymous.get("/openapi.json").json()
        assert {
            "/v1/events/forecast-complete",
            "/v1/alerts",
            "/v1/alerts/{alert_id}/ack",
            "/v1/silences",
            "/healthz",
        } <= set(spec["paths"])
