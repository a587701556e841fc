"""The webhook: an event is queued as the Python producer queues it, or refused untouched."""

from __future__ import annotations

import base64
import json

import pytest
import redis

from shelfops_alerts.intake.client import notify_forecast_complete
from shelfops_alerts.web.tokens import CACHE_TTL_S
from tests.support.waiting import wait_until
from tests.support.web import api, new_token


def queued(settings) -> list[dict]:
    """The messages waiting on the alerts queue, oldest first, decoded (``embed``: what
    follows each, e.g. its chain, the last step first)."""
    client = redis.Redis.from_url(settings.redis_url.reveal())
    messages = []
    for raw in reversed(client.lrange("alerts", 0, -1)):
        envelope = json.loads(raw)
        args, kwargs, embed = json.loads(base64.b64decode(envelope["body"]))
        messages.append({"envelope": envelope, "args": args, "kwargs": kwargs, "embed": embed})
    return messages


def test_a_forecast_complete_event_is_queued_like_the_python_producers(db, web, settings):
    token = new_token(db, "acme")
    # Given the Python producer's message for the same event (every SKU: the walk task), as
    # a reference
    notify_forecast_complete("acme", "run-7", settings=settings)
    reference = queued(settings)[0]

    # When a forecasting job calls the webhook
    with api(web, token) as client:
        answer = client.post("/v1/events/forecast-complete", json={"run_id": "run-7"})

    # Then it is accepted with the task id of the message now on the alerts queue
    assert answer.status_code == 202
    ours = queued(settings)[1]
    assert answer.json() == {"task_id": ours["envelope"]["headers"]["id"]}
    # And that message is the producer's, but for its own task id
    assert (
        ours["kwargs"]
        == reference["kwargs"]
        == {
            "customer_id": "acme",
            "run_id": "run-7",
            "skus": None,
        }
    )
    assert ours["args"] == reference["args"] == []
    for part in ("content-type", "content-encoding"):
        assert ours["envelope"][part] == reference["envelope"][part]
    assert ours["envelope"]["headers"]["task"] == "shelfops.forecast_completed"
    assert ours["envelope"]["properties"]["delivery_info"] == {
        "exchange": "",
        "routing_key": "alerts",
    }
    assert set(ours["envelope"]["headers"]) == set(reference["envelope"]["headers"])


def test_an_event_naming_a_few_skus_is_queued_as_its_check_chain_like_the_producers(
    db, web, settings
):
    token = new_token(db, "acme")
    # Given the Python producer's message for an event naming one SKU, as a reference
    notify_forecast_complete("acme", "run-7", ["S1/P1"], settings=settings)
    reference = queued(settings)[0]

    # When a forecasting job calls the webhook with the same event
    with api(web, token) as client:
        answer = client.post(
            "/v1/events/forecast-complete", json={"run_id": "run-7", "skus": ["S1/P1"]}
        )

    # Then both queued the batch's check itself, with persist and publish to follow
    assert answer.status_code == 202
    ours = queued(settings)[1]
    assert answer.json() == {"task_id": ours["envelope"]["headers"]["id"]}
    for message in (reference, ours):
        assert message["envelope"]["headers"]["task"] == "shelfops.check_stockout_risk"
        assert message["kwargs"] == {
            "customer_id": "acme",
            "skus": [["S1", "P1"]],
            "context": {"run_id": "run-7"},
            "only_types": None,
        }
        steps = message["embed"]["chain"]
        assert [step["task"] for step in steps] == [
            "shelfops.publish_alerts",
            "shelfops.dedup_and_persist",
        ]
        assert all(step["options"]["queue"] == "alerts" for step in steps)
    # And each message's three task ids are its own
    ids = [
        [m["envelope"]["headers"]["id"], *(s["options"]["task_id"] for s in m["embed"]["chain"])]
        for m in (reference, ours)
    ]
    assert len({*ids[0], *ids[1]}) == 6
    assert set(ours["envelope"]["headers"]) == set(reference["envelope"]["headers"])
    assert ours["envelope"]["properties"]["delivery_info"]["routing_key"] == "alerts"


def test_a_sales_recorded_event_without_a_body_checks_every_sku(db, web, settings):
    token = new_token(db, "acme")
    with api(web, token) as client:
        answer = client.post("/v1/events/sales-recorded")
    assert answer.status_code == 202
    [message] = queued(settings)
    assert message["envelope"]["headers"]["task"] == "shelfops.sales_recorded"
    assert message["kwargs"] == {"customer_id": "acme", "skus": None}


@pytest.mark.parametrize(
    ("path", "body", "field", "words"),
    [
        ("forecast-complete", {"skus": ["S1-P1"]}, "skus", "must be written STORE/PRODUCT"),
        ("forecast-complete", {"skus": []}, "skus", "skus is empty"),
        ("forecast-complete", {"skus": "S1/P1"}, "skus", "valid list"),
        ("forecast-complete", {"run_id": True}, "run_id", ""),
        ("forecast-complete", {"run_id": ["r"]}, "run_id", ""),
        ("forecast-complete", {"customer_id": "globex"}, "customer_id", "not permitted"),
        ("sales-recorded", {"run_id": "r"}, "run_id", "not permitted"),
        ("sales-recorded", {"skus": [["S1"]]}, "skus", "STORE/PRODUCT"),
    ],
)
def test_a_malformed_event_is_refused_naming_the_field_and_nothing_is_queued(
    db, web, settings, path, body, field, words
):
    token = new_token(db, "acme")
    with api(web, token) as client:
        answer = client.post(f"/v1/events/{path}", json=body)
    assert answer.status_code == 422
    [error, *_] = answer.json()["detail"]
    assert error["loc"][:2] == ["body", field]
    assert words in error["msg"]
    assert queued(settings) == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer sho_nope"}, {"Authorization": "Basic c2hvOg=="}],
    ids=["no token", "unknown token", "not bearer"],
)
def test_an_event_without_a_valid_token_is_401_and_nothing_is_queued(db, web, settings, headers):
    with api(web) as client:
        answer = client.post("/v1/events/forecast-complete", json={}, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert queued(settings) == []


def test_a_known_token_whose_cache_entry_expired_is_checked_again_and_its_event_queued(
    db, web, settings
):
    token = new_token(db, "acme")
    client = redis.Redis.from_url(settings.redis_url.reveal())
    with api(web, token) as caller:
        # Given the web service has seen the token (its owner is cached in Redis)
        assert caller.post("/v1/events/sales-recorded").status_code == 202
        [key] = client.keys("shelfops:auth:token:*")
        # When the cache entry expires
        client.delete(key)
        # Then the next event is still accepted (the token is looked up again) and queued
        assert caller.post("/v1/events/sales-recorded").status_code == 202
    assert len(queued(settings)) == 2
    assert client.exists(key)


def test_a_token_in_steady_use_has_its_cache_entry_refreshed_before_it_expires(db, web, settings):
    token = new_token(db, "acme")
    client = redis.Redis.from_url(settings.redis_url.reveal())
    with api(web, token) as caller:
        # Given the web service has cached the token, and the entry is about to expire
        assert caller.post("/v1/events/forecast-complete").status_code == 202
        [key] = client.keys("shelfops:auth:token:*")
        client.pexpire(key, 3000)
        # When the next event arrives (answered at once, from the cache)
        assert caller.post("/v1/events/forecast-complete").status_code == 202
    # Then the entry is re-checked in the background and lives a whole CACHE_TTL_S again
    wait_until(lambda: client.ttl(key) > CACHE_TTL_S - 10, 5, "the entry to be refreshed")
    assert len(queued(settings)) == 2
