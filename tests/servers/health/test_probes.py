"""Each probe checks its own service: beat by its ticks, Flower by its health page (behind
basic auth everywhere else), a worker by its answer to a ping."""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.request

import pytest
import redis

from shelfops_alerts.health import presence, probes
from shelfops_alerts.stack import processes
from shelfops_alerts.stack.embedded import free_port
from tests.support.cli import run
from tests.support.waiting import wait_until


def test_beat_is_alive_while_it_ticks_and_down_once_it_stops(db, settings, cli_env, capsys):
    client = redis.Redis.from_url(settings.redis_url.reveal())
    # Given beat on this host never ticked
    code, out, _ = run(capsys, "probe", "beat")
    assert code == 1 and "never ticked" in out
    # When it ticks
    presence.announce_beat(client, probes.this_host())
    code, out, _ = run(capsys, "probe", "beat", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    # And when its last tick is older than three refreshes, it is down
    presence.announce_beat(client, probes.this_host(), now=time.time() - presence.STALE_AFTER_S - 1)
    assert run(capsys, "probe", "beat")[0] == 1
    # A beat on another host does not make this one alive
    presence.announce_beat(client, "elsewhere")
    assert not probes.probe_beat(settings).ok


def test_a_worker_that_does_not_run_is_down(db, settings):
    result = probes.probe_worker(settings, name="nobody", timeout_s=0.5)
    assert not result.ok and f"nobody@{probes.this_host()}" in result.detail


def test_an_http_service_that_does_not_listen_is_down(cli_env, capsys):
    code, out, _ = run(capsys, "probe", "web", "--port", str(free_port()))
    assert code == 1 and out.startswith("DOWN")


@pytest.fixture()
def flower_with_auth(settings, base_env, tmp_path):
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SHELFOPS_")}, **base_env}
    flower = processes.flower(
        env=env, port=port, log_dir=tmp_path, basic_auth="ops:correct-horse"
    ).start()
    yield port, flower
    flower.stop(grace_s=5)


def test_flower_asks_for_the_password_keeps_few_tasks_and_answers_its_probe(
    flower_with_auth, capsys
):
    port, flower = flower_with_auth
    # The probe waits for Flower's health page, which needs no password
    wait_until(lambda: probes.probe_http("flower", port=port).ok, 30, "Flower")
    assert run(capsys, "probe", "flower", "--port", str(port))[0] == 0
    # Every other page and the API ask for the password
    api = f"http://127.0.0.1:{port}/api/workers"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(api, timeout=5)
    assert refused.value.code == 401
    request = urllib.request.Request(api)
    token = base64.b64encode(b"ops:correct-horse").decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200
    # The task list is bounded, and the password is not on Flower's command line
    assert f"--max_tasks={processes.FLOWER_MAX_TASKS}" in flower.args
    assert not any("correct-horse" in part for part in flower.args)
