"""A worker's plain sends (a chain's next step) pushed as built messages (workers/sending.py):
the message a worker then reads is the one Celery's ``send_task`` would have sent."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
import redis
from celery import signature
from kombu.exceptions import OperationalError

from shelfops_alerts.config import Settings
from shelfops_alerts.intake.direct import chain_step
from shelfops_alerts.stack.embedded import free_port
from shelfops_alerts.vocabulary import ALERTS_QUEUE, PERSIST_TASK, PUBLISH_TASK


def _taken(client: redis.Redis, task_id: str) -> dict[str, Any]:
    """The message of ``task_id`` taken off the alerts queue (the others left in place)."""
    for raw in client.lrange(ALERTS_QUEUE, 0, -1):
        envelope = json.loads(raw)
        if envelope["headers"]["id"] == task_id:
            client.lrem(ALERTS_QUEUE, 1, raw)
            return dict(envelope)
    raise AssertionError(f"no message of {task_id} on {ALERTS_QUEUE}")


def test_a_chains_next_step_is_pushed_as_celery_would_send_it(
    tasks_app: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a checked batch, and the rest of its chain (the publish step after the persist)
    import workers.sending

    client = redis.Redis.from_url(settings.redis_url.reveal())
    keys = [["S1", f"P{n}"] for n in range(12)]
    checked = {"customer_id": "acme", "checked": keys, "findings": [], "context": {}}
    rest = [chain_step(PUBLISH_TASK, str(uuid.uuid4()))]
    errback = signature("shelfops.sweep_batch_failed", kwargs={"context": {"sweep_id": 3}})

    def queue_next_step(task_id: str) -> None:
        # what Celery's trace does when a step returns
        signature(chain_step(PERSIST_TASK, task_id), app=tasks_app).apply_async(
            (checked,), chain=rest, parent_id="check-id", root_id="root-id", link_error=[errback]
        )

    # When the next step is queued as a pushed message, and once more through Celery's own
    # send_task (the pushed path turned off)
    pushed_id, sent_id = str(uuid.uuid4()), str(uuid.uuid4())
    queue_next_step(pushed_id)
    monkeypatch.setattr(workers.sending, "pushable_queue", lambda *_: None)
    queue_next_step(sent_id)

    # Then both are on the alerts queue, the same message but for the task id
    pushed, sent = _taken(client, pushed_id), _taken(client, sent_id)
    assert json.loads(base64.b64decode(pushed["body"])) == json.loads(
        base64.b64decode(sent["body"])
    )
    assert set(pushed["headers"]) == set(sent["headers"])
    for key, value in sent["headers"].items():
        if key not in ("id", "argsrepr"):
            assert pushed["headers"][key] == value, key
    # Routed as Celery routes it (the default exchange, by the queue's name: what a redelivery
    # restores it by), at priority 0, with Celery's properties
    for key, value in sent["properties"].items():
        if key not in ("correlation_id", "delivery_tag"):
            assert pushed["properties"][key] == value, key
    assert pushed["properties"]["delivery_info"] == {"exchange": "", "routing_key": ALERTS_QUEUE}
    assert {key: pushed[key] for key in ("content-type", "content-encoding")} == {
        key: sent[key] for key in ("content-type", "content-encoding")
    }
    # But for the previous step's result, summarised for Flower instead of repr'd whole
    assert pushed["headers"]["argsrepr"].startswith("({'customer_id': 'acme'")
    assert "'checked': '<12 items>'" in pushed["headers"]["argsrepr"]
    assert "<12 items>" not in sent["headers"]["argsrepr"]


def test_a_send_with_a_countdown_still_goes_through_celery(
    tasks_app: Any, settings: Settings
) -> None:
    # Given a step queued with a countdown (what a retry does), which a pushed message
    # cannot carry
    client = redis.Redis.from_url(settings.redis_url.reveal())
    task_id = str(uuid.uuid4())

    # When it is sent
    signature(chain_step(PUBLISH_TASK, task_id), app=tasks_app).apply_async(
        ({"history_ids": []},), countdown=30
    )

    # Then Celery sent it, with its ETA (the pushed path has none)
    envelope = _taken(client, task_id)
    assert envelope["headers"]["eta"] is not None


def test_a_broker_that_refuses_the_push_is_an_operational_error(tasks_app: Any) -> None:
    # Given a broker that does not answer
    from workers.sending import push, pushable_queue
    from workers.tasks.persist import dedup_and_persist

    dead = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    options = {"task_id": str(uuid.uuid4())}
    queue = pushable_queue(dedup_and_persist, ({},), {}, options)
    assert queue is not None and queue.name == ALERTS_QUEUE

    # When the next step is pushed, Then the fault is retried, then raised as kombu's error
    # (which Celery's trace turns into the step's failure, as a failed send_task was)
    with pytest.raises(OperationalError):
        push(dedup_and_persist, queue, dead, ({},), {}, options)
