"""The dashboard's pages over HTTP: what they show, escaped, to whom."""

from __future__ import annotations

import httpx

from tests.support.web import put_alert, session_for


def test_an_alerts_page_shows_its_findings_and_history_escaped(db, web):
    # Given an alert whose text would be markup if it were not escaped
    alert_id = put_alert(
        db,
        "acme",
        "S1",
        "MILK",
        message="<script>alert('x')</script> runs out",
        metadata={
            "current_stock": 4.0,
            "daily_demand": 10.0,
            "days_until_stockout": 0.4,
            "recommendation": "Order 60 <b>now</b>",
        },
    )
    with session_for(web, db, "acme") as (browser, _):
        page = browser.get(f"/alerts/{alert_id}")
    assert page.status_code == 200
    html = page.text
    # Then its findings are named plainly and its history is there
    for text in ("Stock on hand", "Days until stockout", "0.4", "Recommendation", "Created"):
        assert text in html, text
    # And nothing from the data became markup
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;x&#39;)" in html
    assert "<b>now</b>" not in html and "Order 60 &lt;b&gt;now&lt;/b&gt;" in html
    # And the page is locked down: scripts only from this site, never framed
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_another_customers_alert_page_is_not_found(db, web):
    theirs = put_alert(db, "globex")
    with session_for(web, db, "acme") as (browser, _):
        page = browser.get(f"/alerts/{theirs}")
    assert page.status_code == 404 and "No such alert" in page.text
    assert "globex" not in page.text


def test_the_site_root_the_login_page_and_the_static_files(web):
    with httpx.Client(base_url=web.url, timeout=10) as browser:
        assert browser.get("/").headers["location"] == "/alerts"
        login = browser.get("/login")
        assert login.status_code == 200 and 'name="token"' in login.text
        script = browser.get("/static/app.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert browser.get("/static/app.css").status_code == 200
