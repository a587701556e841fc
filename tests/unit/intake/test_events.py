"""Event payloads are validated before anything is queued or changed."""

import pytest

from shelfops_alerts.intake.events import InvalidEvent, forecast_complete, sales_recorded
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
        (("",), "customer_id must be non-empty"),
        ((None,), "customer_id must be non-empty"),
        ((42,), "customer_id must be non-empty"),
        (("c1", None, "S1/P1"), "skus must be a list"),
        (("c1", None, ["S1P1"]), "STORE/PRODUCT"),
        (("c1", None, ["/P1"]), "empty store or product"),
        (("c1", None, [["S1"]]), "STORE/PRODUCT"),
        (("c1", None, []), "skus is empty"),
        (("c1", {"x": 1}), "run_id must be text"),
        (("x" * 65,), "longer than 64"),
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
        (("",), "customer_id must be non-empty"),
        (("c1", "S1/P1"), "skus must be a list"),
        (("c1", ["S1P1"]), "STORE/PRODUCT"),
        (("c1", []), "skus is empty"),
    ],
)
def test_malformed_sales_recorded_events_are_refused(args, error):
    with pytest.raises(InvalidEvent, match=error):
        sales_recorded(*args)
