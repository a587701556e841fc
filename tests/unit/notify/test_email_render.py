"""Rendering alert e-mails from the project's own templates."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from shelfops_alerts.config import DEFAULT_TEMPLATES_DIR
from shelfops_alerts.notify.email.render import (
    MAX_SUBJECT_LENGTH,
    RenderedEmail,
    render_alert_email,
)

DASHBOARD = "https://app.shelfops.example/alerts/"


def stockout_alert(**overrides: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "alert_id": 42,
        "customer_id": "C1",
        "store_id": "S1",
        "product_id": "P1",
        "alert_type": "stockout_predicted",
        "severity": "critical",
        "status": "open",
        "event": "created",
        "message": "Product P1 at store S1 runs out in 0.8 days (8 on hand, forecast 10/day).",
        "metadata": {
            "current_stock": 8.0,
            "on_order": 5,
            "daily_demand": 10.25,
            "days_until_stockout": 0.8,
            "recommended_quantity": 59,
            "recommendation": "Order at least 59 units now to cover the next 7 days.",
            "reorder_point": None,
        },
        "created_at": "2024-05-01T10:00:00+00:00",
        "updated_at": "2024-05-01T10:05:00+00:00",
    }
    alert.update(overrides)
    return alert


def render(alert: dict[str, Any]) -> RenderedEmail:
    return render_alert_email(alert, templates_dir=DEFAULT_TEMPLATES_DIR, dashboard_url=DASHBOARD)


def is_printable_line(text: str) -> bool:
    return not any(unicodedata.category(c).startswith("C") for c in text)


def test_critical_stockout_names_severity_sku_numbers_and_link() -> None:
    # Given a critical stockout alert that was just created
    alert = stockout_alert()

    # When it is rendered
    email = render(alert)

    # Then the subject says how bad, how soon and where
    assert email.subject == "[CRITICAL] Stockout in 0.8 days: product P1 at store S1"
    # And both bodies carry the numbers, the recommendation and the dashboard link
    link = "https://app.shelfops.example/alerts/42"
    for body in (email.text, email.html):
        assert "CRITICAL" in body
        assert "S1" in body and "P1" in body
        assert "Current stock" in body and "8 (5 on order)" in body
        assert "10.25" in body
        assert "0.8" in body
        assert "Order at least 59 units now to cover the next 7 days." in body
        assert link in body
    assert f'href="{link}"' in email.html
    assert "alerts//42" not in email.text
    # And the reorder point the rule leaves empty reads n/a
    assert "Reorder point:       n/a" in email.text


def test_escalated_alert_says_escalated_in_subject_and_body() -> None:
    # Given an alert that was escalated to critical
    alert = stockout_alert(event="escalated")

    # When it is rendered
    email = render(alert)

    # Then the subject and both bodies say it was escalated
    assert email.subject == "[Escalated to CRITICAL] Stockout in 0.8 days: product P1 at store S1"
    assert email.text.startswith("Escalated to CRITICAL")
    assert "Escalated to CRITICAL" in email.html


def test_other_alert_types_get_a_readable_subject() -> None:
    # Given a high anomaly alert, without stockout numbers
    alert = stockout_alert(alert_type="anomaly_detected", severity="high", metadata={})

    # When it is rendered
    email = render(alert)

    # Then the subject names the type in words
    assert email.subject == "[HIGH] Anomaly detected: product P1 at store S1"


def test_hostile_product_id_is_escaped_in_html_and_cannot_break_the_subject() -> None:
    # Given a product id carrying markup and a header-injection attempt
    hostile = "<script>alert(1)</script>\nBcc: x@evil"
    alert = stockout_alert(product_id=hostile, message="Runs out\r\nsoon <b>now</b>")

    # When it is rendered
    email = render(alert)

    # Then the HTML shows it as text, never as markup
    assert "<script>" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert "&lt;b&gt;now&lt;/b&gt;" in email.html
    # And the subject stays one printable line, with the id folded into it
    assert "\n" not in email.subject and "\r" not in email.subject
    assert is_printable_line(email.subject)
    assert "<script>alert(1)</script> Bcc: x@evil" in email.subject
    # And the id cannot start a line of its own in the plain-text body either
    assert "\nBcc:" not in email.text


def test_control_characters_and_long_ids_make_a_capped_one_line_subject() -> None:
    # Given ids with every kind of line break and a very long product id
    alert = stockout_alert(store_id="S\u2028\u0085\x1b[31m1\t", product_id="P" * 500)

    # When it is rendered
    email = render(alert)

    # Then the subject is one printable line of bounded length
    assert is_printable_line(email.subject)
    assert len(email.subject) <= MAX_SUBJECT_LENGTH
    assert email.subject.endswith("…")


def test_missing_metadata_renders_na_instead_of_failing() -> None:
    # Given a stockout alert whose metadata is empty (and one with none at all)
    sparse = stockout_alert(metadata={})
    bare = {"alert_id": 7, "severity": "critical", "alert_type": "stockout_predicted"}

    # When they are rendered
    sparse_email = render(sparse)
    bare_email = render(bare)

    # Then the missing values read n/a, and the subject falls back to the type
    assert "Days until stockout: n/a" in sparse_email.text
    assert "Recommendation: n/a" in sparse_email.text
    assert "n/a" in sparse_email.html
    assert sparse_email.subject == "[CRITICAL] Stockout predicted: product P1 at store S1"
    assert bare_email.subject == "[CRITICAL] Stockout predicted: product n/a at store n/a"
    assert "https://app.shelfops.example/alerts/7" in bare_email.text


def test_plain_text_is_not_html_escaped() -> None:
    # Given a product id with an ampersand
    alert = stockout_alert(product_id="SALT&PEPPER")

    # When it is rendered
    email = render(alert)

    # Then the text shows it as is, and the HTML escapes it
    assert "SALT&PEPPER" in email.text
    assert "SALT&amp;PEPPER" in email.html


def test_an_alert_without_an_id_is_a_clear_error() -> None:
    # Given an alert with no alert_id, Then rendering says what is missing
    with pytest.raises(ValueError, match="alert_id"):
        render({"severity": "critical"})
