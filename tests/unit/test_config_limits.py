"""The limits that keep one message from taking a worker down: sizes, memory, redeliveries."""

from __future__ import annotations

import pytest

from shelfops_alerts.config import ConfigError, load_settings

GOOD = {
    "SHELFOPS_DATABASE_URL": "postgresql://u@localhost/db",
    "SHELFOPS_REDIS_URL": "redis://localhost:6379/0",
}
LIMITS = (
    "SHELFOPS_MAX_BATCH_SIZE",
    "SHELFOPS_DIGEST_MAX_CHANGES",
    "SHELFOPS_WORKER_MAX_MEMORY_MB",
    "SHELFOPS_MAX_REDELIVERIES",
)


@pytest.fixture(autouse=True)
def _empty_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_the_defaults_bound_a_batch_a_digest_a_child_and_a_poison_message():
    settings = load_settings(GOOD)
    assert settings.max_batch_size == 10_000 >= settings.batch_size
    assert settings.digest_max_changes == 200
    assert settings.worker_max_memory_mb == 300
    assert settings.max_redeliveries == 3


@pytest.mark.parametrize("name", LIMITS)
@pytest.mark.parametrize(("value", "says"), [("0", "greater than 0"), ("lots", "whole number")])
def test_each_limit_is_a_positive_whole_number(name, value, says):
    with pytest.raises(ConfigError, match=f"{name} must be (a )?{says}"):
        load_settings({**GOOD, name: value})


def test_a_batch_size_above_the_largest_batch_a_check_takes_is_refused():
    # Producers and sweeps would cut batches every check then splits again
    with pytest.raises(
        ConfigError,
        match=r"SHELFOPS_BATCH_SIZE \(5000\) must not exceed SHELFOPS_MAX_BATCH_SIZE \(4000\)",
    ):
        load_settings({**GOOD, "SHELFOPS_BATCH_SIZE": "5000", "SHELFOPS_MAX_BATCH_SIZE": "4000"})
    # And equal is fine
    settings = load_settings(
        {**GOOD, "SHELFOPS_BATCH_SIZE": "4000", "SHELFOPS_MAX_BATCH_SIZE": "4000"}
    )
    assert settings.batch_size == settings.max_batch_size == 4000
