"""The stream's pure parts: entry ids and their order, the client message, the bounded
queue that marks a client too slow."""

from __future__ import annotations

import asyncio
import json

import pytest

from shelfops_alerts.web.hub import Subscriber, client_message, event_key, is_event_id


@pytest.mark.parametrize("value", ["0-0", "1732700000000-0", "1732700000000", "5-12"])
def test_entry_ids_are_recognised(value):
    assert is_event_id(value)


@pytest.mark.parametrize("value", ["", "-1", "abc", "1-2-3", "1732700000000-", "1 -0", "$", "+"])
def test_anything_else_is_not_an_entry_id(value):
    assert not is_event_id(value)


def test_entry_ids_sort_as_the_stream_does_not_as_text():
    ids = ["1732700000000-10", "1732700000000-9", "999-0", "1732700000001-0", "1732700000000"]
    assert sorted(ids, key=event_key) == [
        "999-0",
        "1732700000000",
        "1732700000000-9",
        "1732700000000-10",
        "1732700000001-0",
    ]


def test_a_client_gets_the_channel_json_plus_its_event_id():
    data = json.dumps({"alert_id": 3, "event": "created"}).encode()
    assert json.loads(client_message(data, "17-2")) == {
        "alert_id": 3,
        "event": "created",
        "event_id": "17-2",
    }


def test_a_full_queue_marks_the_client_too_slow_and_takes_nothing_more():
    async def scenario() -> Subscriber:
        subscriber = Subscriber("acme", buffer=2)
        for n in range(4):
            subscriber.offer((n, 0), f"m{n}")
        return subscriber

    subscriber = asyncio.run(scenario())
    assert subscriber.dropped.is_set() and subscriber.reason == "too slow"
    assert [subscriber.queue.get_nowait()[1] for _ in range(subscriber.queue.qsize())] == [
        "m0",
        "m1",
    ]
