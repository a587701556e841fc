"""Rendering digest e-mails (several alert changes in one message)."""

from __future__ import annotations

import pytest

from shelfops_alerts.config import DEFAULT_TEMPLATES_DIR
from shelfops_alerts.notify.email import build_digest_outgoing
from shelfops_alerts.notify.email.render import render_digest_email
from tests.unit.notify.test_email_render import DASHBOARD, is_printable_line, stockout_alert


def render(alerts, customer_id="C1"):
    return render_digest_email(
        alerts,
        customer_id=customer_id,
        templates_dir=DEFAULT_TEMPLATES_DIR,
        dashboard_url=DASHBOARD,
        window_s=60,
    )


def test_a_digest_lists_every_alert_with_its_numbers_and_links() -> None:
    # Given three alert changes, one of them an escalation to high
    alerts = [
        stockout_alert(alert_id=1, product_id="P1"),
        stockout_alert(alert_id=2, product_id="P2", severity="high", event="escalated"),
        stockout_alert(alert_id=3, product_id="P3"),
    ]

    # When they are rendered as one digest
    email = render(alerts)

    # Then the subject counts them and names the worst severity
    assert email.subject == "[CRITICAL] 3 alerts for customer C1: 3 predicted stockouts"
    # And both bodies list each alert with its numbers, recommendation and link
    for alert_id, product in ((1, "P1"), (2, "P2"), (3, "P3")):
        assert f"Alert #{alert_id} " in email.text
        assert f"product {product} at store S1" in email.text
        assert f"{DASHBOARD}{alert_id}" in email.text
        assert f'href="{DASHBOARD}{alert_id}"' in email.html
    assert email.text.count("Order at least 59 units") == 3
    assert "CRITICAL: 2" in email.text and "HIGH: 1" in email.text
    assert "[HIGH, escalated]" in email.text
    assert "days until stockout 0.8" in email.text


def test_hostile_product_names_stay_text_in_a_digest() -> None:
    # Given a product name with markup, and a customer id with a line break
    hostile = '<script>alert("x")</script>\nBcc: victim@example.com'
    alerts = [stockout_alert(alert_id=7, product_id=hostile), stockout_alert(alert_id=8)]

    # When the digest is rendered
    email = render(alerts, customer_id="C1\r\nBcc: x@example.com")

    # Then the HTML shows the markup as text, and nothing forges a line or a header
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html
    assert is_printable_line(email.subject)
    assert "\nBcc:" not in email.text
    outgoing = build_digest_outgoing(
        email,
        to="ops@c1.example",
        sender="a@b.example",
        digest_id=5,
        customer_id="C1",
        alert_count=2,
    )
    assert outgoing.custom_args == {"digest_id": "5", "customer_id": "C1", "alert_count": "2"}
    assert outgoing.delivery_id == "digest-5"


def test_an_empty_digest_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one alert"):
        render([])
