"""Chain payloads are read as strictly as events: a forged or corrupt one is refused whole,
saying why; only a check's SKUs are refused one by one."""

from __future__ import annotations

import copy
import math

import pytest

from shelfops_alerts.detect.checks import BatchResult
from shelfops_alerts.detect.rules import Finding
from shelfops_alerts.payloads import InvalidPayload
from shelfops_alerts.payloads.chain import (
    check_request,
    read_batch,
    read_context,
    read_persisted,
    read_sweep_context,
)
from shelfops_alerts.payloads.findings import check_finding
from shelfops_alerts.skus import Sku, SkuSpan

MAX = 5
FINDING = Finding(
    store_id="S1",
    product_id="P1",
    alert_type="stockout_predicted",
    severity="critical",
    message="S1/P1 runs out in 0.5 days",
    metadata={"days_until_stockout": 0.5, "late_arrival": {"in_days": 2, "quantity": 10}},
)
SWEEP = {"sweep_id": 7, "batch": 2, "lock": "task-1", "lock_ttl_s": 600.0}


def batch() -> dict:
    return BatchResult(
        customer_id="acme",
        evaluated=[(Sku("S1", "P1"), "stockout_predicted"), (Sku("S1", "P2"), "anomaly_detected")],
        findings=[FINDING],
        unknown=[Sku("S9", "P9")],
        without_forecast=[Sku("S1", "P2")],
        rejected=[(Sku("S1", "P3"), "forecast for day 2 is nan")],
        context=SWEEP,
    ).to_json()


def earlier() -> dict:
    """``batch()`` as an earlier release wrote it: an object per finding."""
    return {**batch(), "findings": [FINDING.to_json()]}


def persisted() -> dict:
    return {
        "customer_id": "acme",
        "history_ids": [11, 12],
        "delivery_ids": [5],
        "events": {"created": 1, "resolved": 1},
        "skus_checked": 2,
        "context": SWEEP,
    }


def test_a_batch_made_by_the_check_reads_back_as_it_was():
    assert read_batch(batch(), max_skus=MAX).to_json() == batch()
    assert read_persisted(persisted(), max_skus=MAX).to_json() == persisted()


def _with(data: dict, path: tuple, value: object) -> dict:
    forged = copy.deepcopy(data)
    target = forged
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return forged


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("customer_id",), "acme\x00", "customer_id must not contain control characters"),
        (("customer_id",), None, "customer_id must be text"),
        (("findings", 0, "alert_type"), "free_money", "alert_type must be one of"),
        (("findings", 0, "severity"), "apocalyptic", "severity must be one of"),
        (("findings", 0, "store_id"), "S\x00", "store_id must not contain control characters"),
        (("findings", 0, "product_id"), "p" * 65, "product_id must be at most 64 characters"),
        (("findings", 0, "message"), "x" * 1001, "message must be at most 1000 characters"),
        (("findings", 0, "message"), " ", "message must not be empty"),
        (("findings", 0, "metadata"), {"d": math.nan}, "metadata.d must be a finite number"),
        (("findings", 0, "metadata"), {"d": "x" * 9000}, "metadata.d must be at most 8192"),
        (("findings", 0, "metadata"), {"d": ["x" * 99] * 99}, "metadata is too large"),
        (("findings", 0, "metadata"), [1], "metadata must be an object"),
        (("findings", 0, "extra"), 1, "unknown: ['extra']"),
        (("findings", 0), "not a finding", "a finding must be an object"),
        (("evaluated", "types", "free_money"), [[0, 1]], "types must map known alert types"),
        (("evaluated", "types", "anomaly_detected"), [[1, 9]], "has a bad run [1, 9]"),
        (("evaluated", "types", "anomaly_detected"), [[1, True]], "has a bad run"),
        (("evaluated", "stores", 0), "S\x00", "evaluated: store_id must not contain control"),
        (("evaluated", "products"), ["P1"], "evaluated: 2 stores and 1 products"),
        (("evaluated", "extra"), [], "evaluated must hold stores, products and types"),
        (("unknown", 0, 0), "S\x01", "unknown: store_id must not contain control characters"),
        (("rejected", 0, 2), "\x00", "rejected: a reason must not contain control characters"),
        (("context", "sweep_id"), "7", "context.sweep_id must be a whole number"),
        (("context", "lock_ttl_s"), math.inf, "context.lock_ttl_s must be a finite number"),
        (("context", "x"), {"nested": 1}, "context.x must be text, a number"),
        (("forged",), 1, "a checked batch has unknown fields ['forged']"),
    ],
)
def test_a_forged_checked_batch_is_refused_with_the_reason(path, value, reason):
    # (findings forged one by one: in the earlier form, an object per finding)
    data = earlier() if path[0] == "findings" else batch()
    with pytest.raises(InvalidPayload) as refused:
        read_batch(_with(data, path, value), max_skus=MAX)
    assert reason in str(refused.value)


def test_findings_of_either_form_read_as_the_same_findings():
    # Given the same batch with its findings as columns (the check's) and as an object each
    # (an earlier release's, still queued or dead-lettered)
    columns, objects = read_batch(batch(), max_skus=MAX), read_batch(earlier(), max_skus=MAX)
    # Then both read as the check's finding
    assert columns.findings == objects.findings == [FINDING]
    assert isinstance(batch()["findings"], dict)


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("findings", "types", 0), "free_money", "alert_type must be one of"),
        (("findings", "severities", 0), "apocalyptic", "severity must be one of"),
        (("findings", "stores", 0), "S\x00", "store_id must not contain control characters"),
        (("findings", "products", 0), 7, "product_id must be text"),
        (("findings", "messages", 0), " ", "message must not be empty"),
        (("findings", "metadata", 0, 0), math.nan, "metadata.days_until_stockout must be a finite"),
        (("findings", "metadata", 0), [0.5], "metadata values do not match their layout"),
        (("findings", "metadata", 0), {"d": 1}, "metadata values do not match their layout"),
        (("findings", "layout", 0), 1, "a layout must be one of 1"),
        (("findings", "layout", 0), -1, "a layout must be one of 1"),
        (("findings", "layout", 0), True, "a layout must be one of 1"),
        (("findings", "layouts", 0, 0), 5, "each layout must be a list of text keys"),
        (("findings", "layouts"), [], "a layout must be one of 0"),
        (("findings", "messages"), [], "the columns of findings must be of one length"),
        (("findings", "messages"), "x", "each column of findings must be a list"),
        (("findings", "extra"), [], "findings must hold the columns"),
    ],
)
def test_forged_findings_as_columns_are_refused_with_the_reason(path, value, reason):
    with pytest.raises(InvalidPayload) as refused:
        read_batch(_with(batch(), path, value), max_skus=MAX)
    assert reason in str(refused.value)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (["S1", "P1", "free_money"], "unknown alert type 'free_money'"),
        (["S1", "P1"], "each of evaluated must be a list of 3"),
    ],
)
def test_the_earlier_form_of_evaluated_pairs_is_read_and_checked(row, reason):
    # Given a message queued by an earlier release: a [store, product, type] triple per pair
    earlier = {**batch(), "evaluated": [["S1", "P1", "stockout_predicted"]]}
    assert read_batch(earlier, max_skus=MAX).evaluated == [(Sku("S1", "P1"), "stockout_predicted")]
    # And a forged one is refused like any other
    with pytest.raises(InvalidPayload) as refused:
        read_batch({**batch(), "evaluated": [row]}, max_skus=MAX)
    assert reason in str(refused.value)


def test_a_checked_batch_is_no_larger_than_a_batch():
    # Given more distinct SKUs than the batch size, each evaluated once
    many = [["S1", f"P{n}", "stockout_predicted"] for n in range(MAX + 1)]
    with pytest.raises(InvalidPayload, match="a batch names 7 SKUs, at most 5"):
        read_batch({**batch(), "evaluated": many}, max_skus=MAX)
    # And more findings than one per SKU and type could ever be
    findings = [FINDING.to_json()] * (MAX * 4 + 1)
    with pytest.raises(InvalidPayload, match="findings must be a list of at most 20"):
        read_batch({**batch(), "findings": findings}, max_skus=MAX)
    columns = BatchResult("acme", findings=[FINDING] * (MAX * 4 + 1)).to_json()["findings"]
    with pytest.raises(InvalidPayload, match="findings must be a list of at most 20"):
        read_batch({**batch(), "findings": columns}, max_skus=MAX)
    with pytest.raises(InvalidPayload, match="unknown holds 6 entries, at most 5"):
        read_batch({**batch(), "unknown": [["S", f"P{n}"] for n in range(6)]}, max_skus=MAX)


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("history_ids",), [1, "2"], "each of history_ids must be a whole number, got '2'"),
        (("history_ids",), [1, 2.0], "each of history_ids must be a whole number"),
        (("history_ids",), [0], "each of history_ids must be >= 1"),
        (("history_ids",), [True], "each of history_ids must be a whole number"),
        (("history_ids",), list(range(1, 22)), "history_ids must be a list of at most 20"),
        (("delivery_ids",), "5", "delivery_ids must be a list"),
        (("events", "created"), -1, "events.created must be from 0 to 20"),
        (("events", "DROP TABLE"), 1, "events: 'DROP TABLE' is not an event"),
        (("skus_checked",), 6, "skus_checked must be from 0 to 5"),
        (("customer_id",), "a\x00", "customer_id must not contain control characters"),
        (("context",), ["sweep"], "context must be an object"),
    ],
)
def test_a_forged_persisted_batch_is_refused_with_the_reason(path, value, reason):
    with pytest.raises(InvalidPayload) as refused:
        read_persisted(_with(persisted(), path, value), max_skus=MAX)
    assert reason in str(refused.value)


def test_a_check_refuses_bad_skus_alone_and_bad_messages_whole():
    # Given a check naming one SKU with a NUL among good ones
    request = check_request("acme", ["S1/P1", "S1/P\x00", ["S1", "P2"]], SWEEP, None, max_skus=MAX)
    # Then the others are checked, and the refused one says why
    assert request.skus == (Sku("S1", "P1"), Sku("S1", "P2"))
    assert "control characters" in request.refused[0]
    assert request.context == SWEEP
    # But a bad customer, too many SKUs, unknown types or a bad context refuse the message
    for args, reason in [
        (("acme\x00", ["S1/P1"]), "customer_id must not contain"),
        (("acme", ["S1/P1"] * (MAX + 1)), "at most 5 SKUs"),
        (("acme", None), "a check names its SKUs"),
        (("acme", ["S1/P1"], None, ["free_money"]), "only_types must be a list among"),
        (("acme", ["S1/P1"], None, "stockout_predicted"), "only_types must be a list"),
        (("acme", ["S1/P1"], {"sweep_id": -1}), "context.sweep_id must be >= 1"),
    ]:
        with pytest.raises(InvalidPayload, match=reason):
            check_request(*args, max_skus=MAX)


def test_a_check_of_a_span_reads_its_bounds_and_a_batch_carries_its_span():
    # Given a sweep's check naming a span of keys, not the keys
    span = {"after": ["S1", "P1"], "last": ["S1", "P9"]}
    request = check_request("acme", span, SWEEP, None, max_skus=MAX)
    # Then it is read as the span (no keys named), and the first page's has no lower bound
    assert (request.skus, request.span) == ((), SkuSpan(Sku("S1", "P1"), Sku("S1", "P9")))
    first = check_request("acme", {"after": None, "last": ["S1", "P9"]}, max_skus=MAX)
    assert first.span == SkuSpan(None, Sku("S1", "P9"))
    # And its checked batch carries the span to persist, read back as it was
    assert read_batch({**batch(), "span": span}, max_skus=MAX).span == request.span
    # (and the part of a span a check left for another batch is not a batch's to send)
    with pytest.raises(InvalidPayload, match="unknown fields"):
        read_batch({**batch(), "rest": span}, max_skus=MAX)
    # But a span with a bad bound or missing one refuses the message
    for forged, reason in [
        ({"after": None}, "a span must hold after and last"),
        ({"after": ["S1"], "last": ["S1", "P9"]}, "must be 'STORE/PRODUCT'"),
        ({"after": None, "last": ["S1", "P\x00"]}, "control characters"),
    ]:
        with pytest.raises(InvalidPayload, match=reason):
            check_request("acme", forged, max_skus=MAX)
        with pytest.raises(InvalidPayload, match=reason):
            read_batch({**batch(), "span": forged}, max_skus=MAX)


def test_a_context_is_a_few_short_scalars():
    assert read_context(None) is None
    assert read_context({"run": "r1", "n": 3, "ok": True, "x": None}) == {
        "run": "r1",
        "n": 3,
        "ok": True,
        "x": None,
    }
    with pytest.raises(InvalidPayload, match="more than 16 entries"):
        read_context({f"k{n}": n for n in range(17)})
    with pytest.raises(InvalidPayload, match="context.note must be at most 256"):
        read_context({"note": "x" * 257})
    assert read_sweep_context(None) == {}
    with pytest.raises(InvalidPayload, match="context.batch must be"):
        read_sweep_context({"sweep_id": 1, "batch": "one"})


def test_the_check_holds_its_own_findings_to_the_same_rules():
    # A finding the rules could make from odd stored input (an infinite demand) cannot pass
    odd = Finding("S1", "P1", "stockout_predicted", "critical", "m", {"daily_demand": math.inf})
    with pytest.raises(InvalidPayload, match="metadata.daily_demand must be a finite number"):
        check_finding(odd)
    assert check_finding(FINDING) is FINDING


def test_evaluated_pairs_of_many_types_read_back_sku_by_sku():
    # Given a check's pairs of every type in the check's order (types skipped for some
    # SKUs, a SKU evaluated for a type twice, a type first met late in the batch)
    import json
    import random

    from shelfops_alerts.detect.checks import EVALUATION_ORDER

    rng = random.Random(3)
    skus = [Sku(f"S{n % 7}", f"P{n}") for n in range(300)]
    evaluated = []
    for n, sku in enumerate(skus):
        for kind in EVALUATION_ORDER:
            if kind != "anomaly_detected" or n > 150:
                evaluated.extend([(sku, kind)] * rng.choice((0, 1, 1, 1, 2)))
    message = json.loads(json.dumps(BatchResult("acme", evaluated=evaluated).to_json()))
    # When the persist task reads it
    read = read_batch(message, max_skus=len(skus)).evaluated
    # Then each pair comes back once, SKU by SKU in first-seen order, each SKU's types in the
    # order the check listed them
    once = list(dict.fromkeys(evaluated))
    first_type = {kind: at for at, (_, kind) in reversed(list(enumerate(once)))}
    assert read == sorted(once, key=lambda pair: (skus.index(pair[0]), first_type[pair[1]]))
    assert read == BatchResult.from_json(message).evaluated


def test_evaluated_runs_out_of_order_or_overlapping_read_as_pair_by_pair():
    # Given compact pairs whose runs overlap, touch, repeat and come out of order (not what
    # the check writes, but valid)
    import random

    rng = random.Random(5)
    kinds = ["reorder_recommended", "stockout_predicted", "anomaly_detected"]
    for size in (1, 2, 3, 9, 60) * 8:
        types = {}
        for kind in rng.sample(kinds, k=rng.randrange(2, 4)):
            runs = []
            for _ in range(rng.randrange(1, min(size, 5) + 1)):
                start = rng.randrange(size)
                runs.append([start, rng.randrange(start + 1, size + 1)])
            types[kind] = runs
        message = {
            "stores": ["S"] * size,
            "products": [f"P{n}" for n in range(size)],
            "types": types,
        }
        # When the persist task reads them
        read = read_batch({"customer_id": "acme", "evaluated": message}, max_skus=size)
        # Then they are the pairs the pair-by-pair reading gives (BatchResult.from_json),
        # each once
        by_pair = BatchResult.from_json({"customer_id": "acme", "evaluated": message}).evaluated
        assert read.evaluated == list(dict.fromkeys(by_pair))
