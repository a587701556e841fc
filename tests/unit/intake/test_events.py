"""Event payloads are validated before anything is queued or changed."""

import pytest

from shelfops_alerts.intake.events import (
    MAX_EVENT_SKUS,
    InvalidEvent,
    forecast_complete,
    sales_recorded,
)
from shelfops_alerts.skus import Sku


def test_a_valid_event_names_its_skus_once():
    event = forecast_complete("c1", "run-7", ["S1/P1", ["S1", "P2"], "S1/P1"])
    assert event.customer_id == "c1"
    assert event.run_id == "run-7"
    assert event.skus == (Sku("S1", "P1"), Sku("S1", "P2"))
    assert event.to_json() == {"customer_id": "c1", "run_id": "run-7", "skus": ["S1/P1", "S1/P2"]}


def test_no_skus_means_all():
    assert forecast_complete("c1").skus is None


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("",), "customer_id must not be empty"),
        ((None,), "customer_id must be text"),
        ((42,), "customer_id must be text"),
        (("c1", None, "S1/P1"), "skus must be a list"),
        (("c1", None, ["S1P1"]), "STORE/PRODUCT"),
        (("c1", None, ["/P1"]), "empty store or product"),
        (("c1", None, [["S1"]]), "STORE/PRODUCT"),
        (("c1", None, []), "skus is empty"),
        (("c1", {"x": 1}), "run_id must be text"),
        (("x" * 65,), "customer_id must be at most 64 characters"),
        (("c\x001",), "customer_id must not contain control characters"),
        (("c1", "run\n7"), "run_id must not contain control characters"),
        (("c1", None, ["S1/P\x001"]), r"SKU 'S1/P\\x001': product id must not contain control"),
        (("c1", None, [["S\x1b", "P1"]]), "store id must not contain control characters"),
        (("c1", None, ["S1/P\ud8001"]), "product id is not valid UTF-8"),
        (("c1", None, ["S1/" + "p" * 65]), "product id must be at most 64 characters"),
        (("c1", None, ["S1/P1"] * (MAX_EVENT_SKUS + 1)), "at most 100000 SKUs"),
    ],
)
def test_malformed_events_are_refused_with_the_reason(args, error):
    with pytest.raises(InvalidEvent, match=error):
        forecast_complete(*args)


def test_a_sales_recorded_event_names_its_skus_once_or_means_all():
    # Given SKUs named twice, the event keeps each once; given none, it means every SKU.
    event = sales_recorded("c1", ["S1/P1", "S1/P1", ["S2", "P2"]])
    assert event.to_json() == {"customer_id": "c1", "skus": ["S1/P1", "S2/P2"]}
    assert sales_recorded(" c1 ").to_json() == {"customer_id": "c1", "skus": None}


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("",), "customer_id must not be empty"),
        (("c1", "S1/P1"), "skus must be a list"),
        (("c1", ["S1/P\x00"]), "control characters"),
        (("c1", ["S1P1"]), "STORE/PRODUCT"),
        (("c1", []), "skus is empty"),
    ],
)
def test_malformed_sales_recorded_events_are_refused(args, error):
    with pytest.raises(InvalidEvent, match=error):
        sales_recorded(*args)


def test_a_worker_refuses_a_bad_sku_alone_and_checks_the_rest():
    # Given an event whose second SKU holds a NUL (it would fail a whole batch in PostgreSQL)
    skus = ["S1/P1", "S1/P\x00", ["S1", "P2"], "S1/P1"]
    # When a producer validates it, Then the whole event is refused, naming the SKU
    with pytest.raises(InvalidEvent, match="control characters"):
        forecast_complete("c1", None, skus)
    # When a worker reads it (partial), Then that SKU alone is refused, with the reason
    event = forecast_complete("c1", None, skus, partial=True)
    assert event.skus == (Sku("S1", "P1"), Sku("S1", "P2"))
    (reason,) = event.refused
    assert reason == "SKU 'S1/P\\x00': product id must not contain control characters, got 'P\\x00'"
    assert sales_recorded("c1", skus, partial=True).refused == (reason,)


def test_a_worker_still_refuses_what_cannot_be_split():
    # A bad customer, a list that is not a list, or no SKU readable at all: the whole event
    for args in (("c\x00", None, ["S1/P1"]), ("c1", None, "S1/P1"), ("c1", None, ["S1\x00/P"] * 3)):
        with pytest.raises(InvalidEvent):
            forecast_complete(*args, partial=True)
    with pytest.raises(InvalidEvent, match=r"no SKU named could be read: .* \(and 2 more\)"):
        forecast_complete("c1", None, ["S1\x00/P"] * 3, partial=True)


def test_a_huge_bad_value_is_quoted_short():
    with pytest.raises(InvalidEvent) as refused:
        forecast_complete("c1", None, ["\x00" * 1_000_000])
    assert len(str(refused.value)) < 300
