"""Tokens, the dashboard's login and its defences: only hashes stored, revocation at once,
one-time links, HttpOnly SameSite=Strict sessions, cross-site changes refused."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlparse

import httpx
import redis

from shelfops_alerts.web.sessions import create_login_link, login_url
from tests.support.cli import run
from tests.support.data import rows
from tests.support.web import api, new_token, put_alert, session_for


def test_tokens_are_shown_once_stored_as_hashes_listed_and_revoked_at_once(
    db, web, cli_env, capsys
):
    # Given a token created on the command line
    code, out, _ = run(
        capsys, "tokens", "create", "--customer", "acme", "--name", "forecasts", "--json"
    )
    assert code == 0
    created = json.loads(out)
    token = created["token"]
    assert created["customer_id"] == "acme" and token.startswith("sho_")

    # Then the database keeps only its hash, and the list never shows it
    assert token not in str(rows(db, "SELECT * FROM api_tokens"))
    _, listed, _ = run(capsys, "tokens", "list", "--customer", "acme", "--json")
    assert [t["name"] for t in json.loads(listed)] == ["forecasts"] and token not in listed

    # And it works (which caches it in every instance's shared cache)
    with api(web, token) as client:
        assert client.get("/v1/alerts").status_code == 200
        assert client.post("/v1/events/forecast-complete", json={}).status_code == 202
        redis.Redis.from_url(web.env["SHELFOPS_REDIS_URL"]).delete("alerts")

        # When it is revoked
        code, _, _ = run(capsys, "tokens", "revoke", str(created["token_id"]))
        assert code == 0

        # Then the very next call is refused, cache or not, and queues nothing
        assert client.post("/v1/events/forecast-complete", json={}).status_code == 401
        assert client.get("/v1/alerts").status_code == 401
    assert redis.Redis.from_url(web.env["SHELFOPS_REDIS_URL"]).llen("alerts") == 0
    _, listed, _ = run(capsys, "tokens", "list", "--json")
    assert json.loads(listed)[0]["revoked_at"] is not None


def test_unknown_token_ids_and_bad_customers_are_refused(db, cli_env, capsys):
    assert run(capsys, "tokens", "revoke", "999")[0] == 2
    assert run(capsys, "tokens", "create", "--customer", " ")[0] == 2


def test_a_login_link_opens_one_session_once(db, web, cli_env, capsys, monkeypatch):
    monkeypatch.setenv("SHELFOPS_DASHBOARD_URL", f"{web.url}/alerts")
    put_alert(db, "acme")
    # Given the link `dashboard-url` prints
    code, out, _ = run(capsys, "dashboard-url", "--customer", "acme")
    link = out.strip()
    assert code == 0 and link.startswith(f"{web.url}/login?code=")

    with httpx.Client(timeout=10) as browser:
        # When it is opened
        answer = browser.get(link)
        # Then it sets an HttpOnly, SameSite=Strict session cookie and goes to the alerts
        assert answer.status_code == 303 and answer.headers["location"] == "/alerts"
        cookie = answer.headers["set-cookie"].lower()
        assert "shelfops_session=" in cookie and "httponly" in cookie
        assert "samesite=strict" in cookie and "path=/" in cookie
        page = browser.get(f"{web.url}/alerts")
        assert page.status_code == 200 and "Active alerts" in page.text
        # And the session reads the API, for its own customer
        assert len(browser.get(f"{web.url}/v1/alerts").json()["alerts"]) == 1

    # But the same link does nothing a second time
    with httpx.Client(timeout=10) as other:
        again = other.get(link)
        assert again.status_code == 401 and "expired or was already used" in again.text
        assert "shelfops_session" not in other.cookies


def test_an_expired_login_link_is_refused(db, web):
    with db.begin() as session:
        code = create_login_link(session, customer_id="acme", ttl_s=0.2)
    time.sleep(0.5)
    with httpx.Client(timeout=10) as browser:
        assert browser.get(login_url(web.url, code)).status_code == 401


def test_a_pasted_token_logs_in_and_a_bad_one_does_not(db, web):
    token = new_token(db, "acme")
    with httpx.Client(base_url=web.url, timeout=10) as browser:
        refused = browser.post("/login", data={"token": "sho_wrong", "next": "/alerts"})
        assert refused.status_code == 401 and "not valid" in refused.text
        answer = browser.post("/login", data={"token": token, "next": "/alerts/7"})
        assert answer.status_code == 303 and answer.headers["location"] == "/alerts/7"
        assert browser.get("/v1/alerts").status_code == 200
        # An outside target is never followed after login
        answer = browser.post("/login", data={"token": token, "next": "//evil.example/"})
        assert answer.headers["location"] == "/alerts"


def test_cookie_changes_need_the_csrf_token_and_this_sites_origin(db, web):
    alert_id = put_alert(db, "acme")
    body = {"by": "ann"}
    with session_for(web, db, "acme") as (browser, csrf):
        # A cross-site form or script has the cookie but not the token: refused
        assert browser.post(f"/v1/alerts/{alert_id}/ack", json=body).status_code == 403
        # A wrong token, or the right one from another origin: refused
        bad = {"X-CSRF-Token": "0" * 64}
        assert browser.post(f"/v1/alerts/{alert_id}/ack", json=body, headers=bad).status_code == 403
        foreign = {"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
        assert (
            browser.post(f"/v1/alerts/{alert_id}/ack", json=body, headers=foreign).status_code
            == 403
        )
        assert rows(db, "SELECT status FROM alerts")[0][0] == "open"
        # The page itself (token, same origin): done
        own = {"X-CSRF-Token": csrf, "Origin": web.url}
        answer = browser.post(f"/v1/alerts/{alert_id}/ack", json=body, headers=own)
        assert answer.status_code == 200 and answer.json()["status"] == "acknowledged"


def test_logging_out_ends_the_session(db, web):
    with session_for(web, db, "acme") as (browser, csrf):
        answer = browser.post("/logout", data={"csrf": csrf}, headers={"Origin": web.url})
        assert answer.status_code == 303
        assert browser.get("/v1/alerts").status_code == 401
    assert rows(db, "SELECT count(*) FROM web_sessions")[0][0] == 0


def test_a_page_without_a_session_reloads_once_then_asks_to_log_in(db, web):
    with httpx.Client(base_url=web.url, timeout=10) as browser:
        # First from this site (a Strict cookie is not sent from another site's link)
        first = browser.get("/alerts/5")
        assert first.status_code == 200 and "/alerts/5?bounced=1" in first.text
        # Then, still without a session, to /login with the page to come back to
        then = browser.get("/alerts/5?bounced=1")
        assert then.status_code == 303
        target = urlparse(then.headers["location"])
        assert target.path == "/login" and parse_qs(target.query) == {"next": ["/alerts/5"]}
