"""The fault suite (bench/faults.py) tested through its own scenario functions.

Two of its scenarios fit in CI time at a few thousand SKUs: an alerts worker's pool process
SIGKILLed mid-sweep, and ten producers racing events for the same SKUs. They run on the
suite's own stack (its servers, workers, beat and SendGrid stand-in), exactly as
``make faults`` runs them, and must lose and duplicate nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from fault_scenarios import producers_racing, worker_child_killed  # noqa: E402
from fault_stack import FaultStack  # noqa: E402

#: Swept SKUs (the producers' catalogue is a tenth, at least 500), in batches of 50.
SKUS = 3000


@pytest.fixture(scope="module")
def fault_stack() -> Iterator[FaultStack]:
    with FaultStack(skus=SKUS, batch_size=50) as stack:
        yield stack


def test_an_alerts_worker_child_killed_mid_sweep_loses_and_doubles_nothing(fault_stack):
    # Given the catalogue, whose alerts the floor computed from the stored data
    # When a sweep runs and one alerts worker's pool process is SIGKILLed mid-way
    result = worker_child_killed(fault_stack, idle_s=120)

    # Then once idle every expected alert is active once, and every critical one mailed once
    tally = result.tally
    assert tally.problems == [], result.notes
    assert tally.alerts_expected > 0
    assert (tally.found, tally.lost, tally.duplicated) == (tally.alerts_expected, 0, 0)
    assert (tally.sent, tally.sent_twice) == (tally.emails_expected, 0)
    assert any(n.startswith("SIGKILLed") for n in result.notes), result.notes
    assert not result.failed


def test_ten_producers_racing_the_same_skus_make_each_alert_once(fault_stack):
    # Given the small catalogue
    # When ten producers send forecast-complete events for the same SKUs at once
    result = producers_racing(fault_stack, idle_s=120)

    # Then each expected alert exists once, and each critical one was mailed once
    tally = result.tally
    assert tally.problems == [], result.notes
    assert tally.alerts_expected > 0
    assert (tally.found, tally.lost, tally.duplicated) == (tally.alerts_expected, 0, 0)
    assert (tally.sent, tally.sent_twice) == (tally.emails_expected, 0)
    assert not result.failed
