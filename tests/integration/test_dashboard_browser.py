"""The dashboard in a real browser (Debian's Chromium, driven by Playwright): log in with the
one-time link, watch an alert arrive live after a webhook call, acknowledge and resolve it
from the page, catch up after the connection drops — and find every change in the database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.cli import run
from tests.support.data import put_skus, rows
from tests.support.waiting import wait_until
from tests.support.web import WebServer, bearer, new_token

CHROMIUM = Path("/usr/bin/chromium")
#: Flags for a browser in a container: no sandbox, GPU or background traffic.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def web(settings, base_env, tmp_path_factory) -> Iterator[WebServer]:
    server = WebServer(base_env, tmp_path_factory.mktemp("web-browser")).start()
    yield server
    server.stop()


@pytest.fixture()
def page():
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the browser test")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        opened = context.new_page()
        errors: list[str] = []
        opened.on("pageerror", lambda error: errors.append(str(error)))
        yield opened
        browser.close()
        assert errors == [], errors


def status_of(db, alert_id: int) -> tuple:
    return tuple(
        rows(
            db,
            "SELECT status, acknowledged_by, acknowledged_outcome, acknowledged_note"
            " FROM alerts WHERE id = :id",
            id=alert_id,
        )[0]
    )


def test_an_operator_sees_an_alert_arrive_live_and_acts_on_it_from_the_page(
    pipeline, web, page, cli_env, capsys, monkeypatch
):
    db = pipeline
    # Given a customer with a SKU about to run out, and its forecasting job's token
    put_skus(db, "acme", [("S1", "MILK", 4.0, 10.0), ("S1", "BREAD", 500.0, 5.0)])
    token = new_token(db, "acme")

    # When the operator opens the one-time link that `dashboard-url` prints
    monkeypatch.setenv("SHELFOPS_DASHBOARD_URL", f"{web.url}/alerts")
    code, out, _ = run(capsys, "dashboard-url", "--customer", "acme")
    assert code == 0
    page.goto(out.strip())
    page.wait_for_selector("body[data-live=on]")
    assert page.url == f"{web.url}/alerts"
    assert page.locator("#empty").is_visible()

    # And the forecasting job calls the webhook
    answer = httpx.post(
        f"{web.url}/v1/events/forecast-complete", json={"run_id": "r1"}, headers=bearer(token)
    )
    assert answer.status_code == 202

    # Then the alert appears on the page without a reload
    row = page.locator("tr[data-alert-id]")
    row.wait_for(timeout=20_000)
    assert row.count() == 1
    assert "MILK" in row.inner_text() and "critical" in row.inner_text().lower()
    expect(page.locator("#count-critical")).to_have_text("1")  # counts follow within 250 ms
    alert_id = int(row.get_attribute("data-alert-id"))

    # When they acknowledge it from the page, with an outcome and a note
    row.get_by_role("button", name="Acknowledge").click()
    dialog = page.locator("#ack-dialog")
    dialog.get_by_label("Your name").fill("ann")
    dialog.get_by_label("What was done").select_option("ordered")
    dialog.get_by_label("Note").fill("60 ordered from the DC")
    dialog.get_by_role("button", name="Acknowledge").click()

    # Then the page shows it acknowledged, and so does the database
    acked = page.locator(f'tr[data-alert-id="{alert_id}"][data-status="acknowledged"] small')
    acked.wait_for()
    assert acked.inner_text() == "ann · Ordered stock"
    assert status_of(db, alert_id) == ("acknowledged", "ann", "ordered", "60 ordered from the DC")

    # When the connection drops and, while it is down, someone resolves the alert elsewhere
    page.context.set_offline(True)
    page.evaluate("window.shelfops.dropStream()")
    page.wait_for_selector("body:not([data-live=on])")
    resolved = httpx.post(
        f"{web.url}/v1/alerts/{alert_id}/resolve", json={"by": "bob"}, headers=bearer(token)
    )
    assert resolved.status_code == 200
    page.wait_for_timeout(1500)  # long enough for a reconnect, were it possible
    assert page.locator("body[data-live=on]").count() == 0
    assert page.locator(f'tr[data-alert-id="{alert_id}"]').count() == 1  # not heard of yet

    # Then, back online, the page catches up from its last event and drops the alert
    page.context.set_offline(False)
    page.wait_for_selector("body[data-live=on]", timeout=20_000)
    page.wait_for_selector(f'tr[data-alert-id="{alert_id}"]', state="detached", timeout=10_000)
    expect(page.locator("#count-critical")).to_have_text("0")

    # And the alert's own page, where every e-mail links, shows its whole history
    page.goto(f"{web.url}/alerts/{alert_id}")
    history = page.locator(".timeline").inner_text()
    assert "Created" in history and "Acknowledged" in history and "Resolved" in history
    assert "60 ordered from the DC" in history
    wait_until(lambda: status_of(db, alert_id)[0] == "resolved", 5, "the resolution")
