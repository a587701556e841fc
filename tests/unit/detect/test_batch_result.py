"""A batch result as the JSON the next task receives: compact, and read back the same."""

from __future__ import annotations

import dataclasses
import json

from shelfops_alerts.detect.checks import BatchResult
from shelfops_alerts.detect.rules import Finding
from shelfops_alerts.skus import Sku

STOCKOUT, REORDER, ANOMALY = "stockout_predicted", "reorder_recommended", "anomaly_detected"


def round_trip(result: BatchResult) -> BatchResult:
    return BatchResult.from_json(json.loads(json.dumps(result.to_json())))


def test_evaluated_pairs_come_back_sku_by_sku() -> None:
    """Given 1,000 SKUs evaluated for stockout, some also for reorder and anomaly, when the
    result goes through JSON, then the same pairs come back in the same order, and each SKU
    is written once (types as ranges of positions)."""
    skus = [Sku(f"S{n // 100}", f"P{n}") for n in range(1000)]
    evaluated = []
    for n, sku in enumerate(skus):
        if n % 7 == 0:
            evaluated.append((sku, REORDER))
        evaluated.append((sku, STOCKOUT))
        if 200 <= n < 300:
            evaluated.append((sku, ANOMALY))
    finding = Finding("S0", "P1", STOCKOUT, "high", "runs out", {"days_until_stockout": 1.5})
    result = BatchResult("c1", evaluated=evaluated, findings=[finding], context={"batch": 3})

    data = result.to_json()
    back = round_trip(result)

    assert back.evaluated == evaluated
    assert back.findings == [finding] and back.context == {"batch": 3}
    assert data["evaluated"]["types"][STOCKOUT] == [[0, 1000]]
    assert data["evaluated"]["types"][ANOMALY] == [[200, 300]]
    assert len(data["evaluated"]["stores"]) == 1000


def test_pairs_out_of_order_or_twice_come_back_once() -> None:
    """Given pairs listed out of order and one twice, when through JSON, then each pair
    comes back once."""
    a, b, c = Sku("S", "A"), Sku("S", "B"), Sku("S", "C")
    result = BatchResult(
        "c1", evaluated=[(a, STOCKOUT), (b, REORDER), (c, STOCKOUT), (a, STOCKOUT), (b, STOCKOUT)]
    )

    back = round_trip(result)

    assert sorted(back.evaluated) == sorted(
        {(a, STOCKOUT), (b, REORDER), (b, STOCKOUT), (c, STOCKOUT)}
    )
    assert len(back.evaluated) == 4


def test_a_message_whose_runs_overlap_lists_each_pair_once() -> None:
    """Given a message (not written by ``to_json``) whose stockout runs overlap and repeat,
    when read, then each pair comes back once, as persist's reader gives them."""
    data = {
        "customer_id": "c1",
        "evaluated": {
            "stores": ["S", "S", "S"],
            "products": ["A", "B", "C"],
            "types": {STOCKOUT: [[0, 2], [1, 3], [0, 1]], REORDER: [[1, 2], [1, 2]]},
        },
    }

    evaluated = BatchResult.from_json(data).evaluated

    assert evaluated == [
        (Sku("S", "A"), STOCKOUT),
        (Sku("S", "B"), STOCKOUT),
        (Sku("S", "B"), REORDER),
        (Sku("S", "C"), STOCKOUT),
    ]


def test_a_message_of_the_earlier_form_is_read() -> None:
    """Given a result queued by the earlier release (a triple per pair), when read,
    then its pairs are the same."""
    old = {"customer_id": "c1", "evaluated": [["S", "A", STOCKOUT], ["S", "B", REORDER]]}

    assert BatchResult.from_json(old).evaluated == [
        (Sku("S", "A"), STOCKOUT),
        (Sku("S", "B"), REORDER),
    ]


def test_a_sweeps_batch_of_one_type_is_one_run() -> None:
    """Given 500 SKUs evaluated for stockout alone (a sweep's batch), and a batch of one type
    with one SKU listed twice, when through JSON, then the first is one run of every SKU
    and the second still comes back with each pair once."""
    skus = [Sku(f"S{n // 100}", f"P{n}") for n in range(500)]
    sweep = BatchResult("c1", evaluated=[(sku, STOCKOUT) for sku in skus])
    twice = BatchResult("c1", evaluated=[(skus[0], STOCKOUT), (skus[1], STOCKOUT)] * 2)

    data = sweep.to_json()

    assert data["evaluated"]["types"] == {STOCKOUT: [[0, 500]]}
    assert round_trip(sweep).evaluated == sweep.evaluated
    assert round_trip(twice).evaluated == [(skus[0], STOCKOUT), (skus[1], STOCKOUT)]


def test_findings_travel_as_columns_and_come_back_the_same() -> None:
    """Given 300 findings of two kinds of metadata (and one without any), when through
    JSON, then the same findings come back, each metadata key written once per layout,
    and the message is much smaller than an object per finding."""
    findings = [
        Finding(f"S{n % 7}", f"P{n}", STOCKOUT, "high", f"out in {n}", {"days": n / 3, "at": None})
        for n in range(150)
    ] + [
        Finding("S1", f"Q{n}", REORDER, "medium", "reorder", {"quantity": n, "late": {"in": 2}})
        for n in range(149)
    ]
    findings.append(Finding("S2", "R", ANOMALY, "medium", "odd day"))
    result = BatchResult("c1", findings=findings)

    data = result.to_json()
    back = round_trip(result)

    assert back.findings == findings
    assert [list(f.metadata) for f in back.findings] == [list(f.metadata) for f in findings]
    assert data["findings"]["layouts"] == [["days", "at"], ["quantity", "late"], []]
    objects = [dataclasses.asdict(f) for f in findings]
    assert len(json.dumps(data["findings"])) < 0.7 * len(json.dumps(objects))


def test_findings_of_the_earlier_form_are_read() -> None:
    """Given a result queued by an earlier release (an object per finding), when read,
    then its findings are the same."""
    finding = Finding("S", "A", STOCKOUT, "high", "runs out", {"days_until_stockout": 1.5})
    old = {"customer_id": "c1", "findings": [dataclasses.asdict(finding)]}

    assert BatchResult.from_json(old).findings == [finding]
