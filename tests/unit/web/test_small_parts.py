"""Keyset cursors, the dashboard's wording, and the webhook's task message."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
import redis.asyncio as aioredis

from shelfops_alerts.intake.client import _producer
from shelfops_alerts.intake.messages import kwargs_summary
from shelfops_alerts.web.enqueue import TaskQueue
from shelfops_alerts.web.pagination import decode_cursor, encode_cursor
from shelfops_alerts.web.presentation import describe_metadata, format_value


def test_a_cursor_names_exactly_the_position_it_was_made_from():
    stamp = dt.datetime(2026, 11, 27, 8, 30, 1, 123456, tzinfo=dt.UTC)
    assert decode_cursor(encode_cursor(stamp, 42)) == (stamp, 42)


@pytest.mark.parametrize(
    "cursor",
    ["", "nonsense", base64.urlsafe_b64encode(b"2026-11-27T08:30:00|7").decode(), "@@@"],
)
def test_a_cursor_this_api_did_not_hand_out_is_refused(cursor):
    with pytest.raises(ValueError, match="cursor"):
        decode_cursor(cursor)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        (True, "yes"),
        (0.4, "0.4"),
        (10.0, "10"),
        (1234.567, "1,234.57"),
        (7, "7"),
        ({"in_days": 3}, '{"in_days": 3}'),
        ("text", "text"),
    ],
)
def test_metadata_values_read_plainly(value, shown):
    assert format_value(value) == shown


def test_known_metadata_comes_first_under_plain_names_then_the_rest():
    facts = describe_metadata({"zeta": 1, "days_until_stockout": 0.4, "current_stock": 4.0})
    assert facts == [("Stock on hand", "4"), ("Days until stockout", "0.4"), ("Zeta", "1")]


def test_the_webhook_builds_the_message_celery_would_send():
    # Given the producer's own Celery app (nothing is sent: no broker is needed)
    queue = TaskQueue(aioredis.Redis.from_url("redis://127.0.0.1:1/0"), broker_url="redis://x/0")
    kwargs = {"customer_id": "acme", "run_id": "r1", "skus": [f"S/P{n}" for n in range(50)]}

    # When the webhook builds a task message
    task_id, raw = queue.message("shelfops.forecast_completed", kwargs)

    # Then it is Celery's protocol 2 message, JSON, for the alerts queue
    envelope = json.loads(raw)
    reference = _producer("redis://x/0").amqp.as_task_v2(
        task_id, "shelfops.forecast_completed", args=(), kwargs=kwargs, ignore_result=True
    )
    body = json.loads(base64.b64decode(envelope["body"]))
    assert body == json.loads(json.dumps(list(reference.body)))
    assert envelope["content-type"] == "application/json"
    assert envelope["headers"]["id"] == task_id
    assert set(envelope["headers"]) == set(reference.headers)
    assert envelope["properties"]["delivery_info"]["routing_key"] == "alerts"
    # With a short kwargsrepr for Flower instead of a 50-SKU listing
    assert envelope["headers"]["kwargsrepr"] == kwargs_summary(kwargs)
    assert "<50 items>" in envelope["headers"]["kwargsrepr"]
