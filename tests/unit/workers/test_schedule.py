"""Beat runs as few housekeeping entries, as rarely, as their jobs allow."""

from __future__ import annotations

import importlib

import pytest

from shelfops_alerts.config import load_settings

URLS = {"SHELFOPS_DATABASE_URL": "postgresql://u@h/db", "SHELFOPS_REDIS_URL": "redis://h:1/0"}


@pytest.fixture()
def schedule(monkeypatch, tmp_path):
    # Importing anything under workers/ builds the Celery app, which reads the settings.
    monkeypatch.chdir(tmp_path)
    for name, value in URLS.items():
        monkeypatch.setenv(name, value)
    return importlib.import_module("workers.schedule")


def test_one_sweep_one_relay_and_one_hourly_prune_the_relay_once_per_relay_period(schedule):
    settings = load_settings({**URLS, "SHELFOPS_OUTBOX_RELAY_AFTER_S": "120"})
    entries = schedule.beat_schedule(settings)
    assert {entry["task"] for entry in entries.values()} == {
        "shelfops.sweep_all_skus",
        "shelfops.relay_outbox",
        "shelfops.prune",
    }
    assert entries["prune"]["schedule"] == 3600
    assert entries["relay-outbox"]["schedule"] == 120
    # At the defaults: 1,440 relay runs a day instead of 8,640 relay and flush runs
    default = schedule.beat_schedule(load_settings(URLS))
    assert 86400 / default["relay-outbox"]["schedule"] == 1440


def test_the_lead_can_set_each_interval(schedule, monkeypatch):
    monkeypatch.setattr(schedule, "RELAY_INTERVAL_S", 45.0)
    monkeypatch.setattr(schedule, "DIGEST_FLUSH_INTERVAL_S", 300.0)
    entries = schedule.beat_schedule(load_settings(URLS))
    assert entries["relay-outbox"]["schedule"] == 45.0
    assert entries["flush-digests"] == {"task": "shelfops.flush_digests", "schedule": 300.0}
