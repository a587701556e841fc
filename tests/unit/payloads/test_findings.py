"""A batch's findings judged together say exactly what judging each alone says."""

from __future__ import annotations

import math
import random

import pytest

from shelfops_alerts.detect.rules import Finding
from shelfops_alerts.payloads import InvalidPayload
from shelfops_alerts.payloads.findings import (
    check_finding,
    check_findings,
    finding_from_json,
    findings_from_json,
)

#: A reorder finding's metadata, as the rule writes it.
METADATA = {
    "inventory_position": 0.0,
    "current_stock": 0.0,
    "on_order": 0.0,
    "reorder_point": 146.68,
    "reorder_point_source": "lead_time_demand_plus_safety_stock",
    "service_level": 0.95,
    "sigma_days": 28,
    "case_pack": None,
    "recommended_quantity": 278.0,
}

#: Ways a finding's field can go wrong (or look odd and still be fine), by field.
ODD = {
    "store_id": [" S1 ", "", "S\x00", "S" * 65, "S\ud800", 7, ["S"], "Ünïcode"],
    "product_id": ["P\t", "P" * 64, None, "P1 ", "\u00a0P"],
    "alert_type": ["stockout", "", ["x"], None],
    "severity": ["urgent", 3, ["high"]],
    "message": ["", "   ", "line one\nline two", "bell\x07", "x" * 1001, "é" * 1000, 5, "\ud800"],
    "metadata": [
        [],
        "text",
        {"nested": {"deep": {"deeper": {"deepest": {"x": 1}}}}},
        {"nan": math.nan},
        {"inf": -math.inf},
        {"huge": 2**53},
        {"bool": True},
        {"k" * 65: 1},
        {"key\x00": 1},
        {7: "numeric key"},
        {"note": "tab\there"},
        {"note": "nul\x00"},
        {"note": "x" * 8200},
        {f"k{n}": n for n in range(300)},
        {"list": [1, 2, {"a": "b"}]},
        {"object": object()},
        {},
    ],
}


def findings(seed: int, count: int, odd_share: float) -> list[Finding]:
    """``count`` findings like the rules', about ``odd_share`` of them with one odd field."""
    rng = random.Random(seed)
    made = []
    for n in range(count):
        values = {
            "store_id": f"ST{n % 7:05d}",
            "product_id": f"PR{n:04d}",
            "alert_type": rng.choice(("reorder_recommended", "stockout_predicted")),
            "severity": rng.choice(("medium", "high", "critical")),
            "message": f"Reorder product PR{n:04d}: order {rng.randint(1, 500)} units.",
            "metadata": {**METADATA, "reorder_point": rng.uniform(0, 500)},
        }
        if rng.random() < odd_share:
            field = rng.choice(list(ODD))
            values[field] = rng.choice(ODD[field])
        made.append(Finding(**values))
    return made


def one_by_one(batch: list[Finding]) -> list[tuple[int, str]]:
    failed = []
    for at, finding in enumerate(batch):
        try:
            check_finding(finding)
        except InvalidPayload as exc:
            failed.append((at, str(exc)))
    return failed


@pytest.mark.parametrize("odd_share", [0.0, 0.002, 0.05, 0.5])
def test_findings_judged_together_fail_exactly_where_each_alone_fails(odd_share):
    for seed in range(40):
        # Given a batch of findings, some with an odd id, type, message or metadata
        batch = findings(seed, 300, odd_share)
        # When they are judged together
        failed = [(at, str(exc)) for at, exc in check_findings(batch)]
        # Then the same findings fail, each for the same reason, as judged one by one
        assert failed == one_by_one(batch)


def test_a_batch_of_the_rules_findings_passes_and_one_bad_value_is_found():
    # Given the rules' findings, then the same with one infinite number in one of them
    batch = findings(1, 500, 0.0)
    assert check_findings(batch) == []
    bad = Finding(**{**vars(batch[321]), "metadata": {**METADATA, "on_order": math.inf}})
    # When judged together, Then that one fails alone, saying why
    ((at, exc),) = check_findings([*batch[:321], bad, *batch[322:]])
    assert at == 321 and "metadata.on_order must be a finite number" in str(exc)


def test_findings_read_from_a_message_are_those_read_one_by_one():
    for seed in range(20):
        # Given a message's findings (as JSON objects), some with an odd field, a missing
        # metadata or an unknown field
        items: list[object] = [dict(vars(f)) for f in findings(seed, 100, 0.02)]
        if seed % 4 == 1:
            del items[seed]["metadata"]  # type: ignore[attr-defined]
        if seed % 4 == 2:
            items[seed]["extra"] = 1  # type: ignore[index]
        if seed % 4 == 3:
            items[seed] = ["not", "an", "object"]
        # When read together and one by one
        try:
            expected: object = [finding_from_json(item) for item in items]
        except InvalidPayload as exc:
            expected = str(exc)
        try:
            found: object = findings_from_json(items)
        except InvalidPayload as exc:
            found = str(exc)
        # Then the same findings, or the same first error
        assert found == expected
