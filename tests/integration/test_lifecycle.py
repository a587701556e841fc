"""The alert lifecycle through the real pipeline: events in, workers, channel and mail out.

Hysteresis, re-opening, silences, inhibition and acknowledgement, each driven by
forecast-complete events exactly as a forecasting job sends them, and by the CLI exactly
as an operator types it.
"""

from __future__ import annotations

import json

import pytest

from shelfops_alerts.cli import main
from shelfops_alerts.intake.client import notify_forecast_complete
from tests.integration.conftest import wait_idle
from tests.integration.test_pipeline import Subscriber
from tests.support.data import put_recipients, put_skus, rows
from tests.support.lifecycle_data import clear_silences, put_accuracy_alert
from tests.support.waiting import wait_until

C = "shop"
#: (store, product, on hand, daily demand): MILK critical (0.3 days), BREAD safe, EGGS high.
OPS, BUYER = "ops@shop.example", "buyer@shop.example"
SKUS = [("S1", "MILK", 3.0, 10.0), ("S1", "BREAD", 500.0, 10.0), ("S1", "EGGS", 15.0, 10.0)]


@pytest.fixture()
def shop(pipeline, settings, base_env, monkeypatch):
    """Three SKUs, a critical-only recipient, a live subscriber; the CLI sees the stack."""
    clear_silences(pipeline)
    for key, value in base_env.items():
        monkeypatch.setenv(key, value)
    put_skus(pipeline, C, SKUS)
    put_recipients(pipeline, C, {OPS: "critical"})
    subscriber = Subscriber(settings.redis_url.reveal(), C)
    yield pipeline, subscriber
    subscriber.close()
    clear_silences(pipeline)


def check(settings, *skus: str) -> None:
    notify_forecast_complete(C, skus=list(skus) or None, settings=settings)
    wait_idle(settings)


def alert_of(db, product: str):
    (row,) = rows(
        db,
        "SELECT id, severity, status, silence_id, metadata FROM alerts"
        " WHERE customer_id = :c AND product_id = :p AND alert_type = 'stockout_predicted'",
        c=C,
        p=product,
    )
    return row


def events_of(db, alert_id: int) -> list[str]:
    return [
        r.event
        for r in rows(
            db, "SELECT event FROM alert_history WHERE alert_id = :a ORDER BY id", a=alert_id
        )
    ]


def mailed(db, alert_id: int) -> list[tuple[str, str]]:
    """(event, recipient) of every e-mail delivery made for the alert's changes.

    Deliveries, not outbox files: how a delivery is sent (alone or in a digest) is the
    e-mail queue's business; which changes are mailed to whom is the lifecycle's.
    """
    return [
        (r.event, r.recipient)
        for r in rows(
            db,
            "SELECT h.event, d.recipient FROM email_deliveries d"
            " JOIN alert_history h ON h.id = d.history_id WHERE d.alert_id = :a"
            " ORDER BY d.id",
            a=alert_id,
        )
    ]


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_recovered_stock_resolves_on_the_second_clean_check_and_reopens_if_it_drops(shop, settings):
    db, subscriber = shop
    check(settings)
    milk = alert_of(db, "MILK")
    assert (milk.severity, milk.status) == ("critical", "open")

    # When stock arrives and one check sees it
    put_skus(db, C, [("S1", "MILK", 500.0, 10.0)])
    check(settings, "S1/MILK")

    # Then the alert is still open (one clean check is not enough)
    assert alert_of(db, "MILK").status == "open"

    # When a second check sees it clean
    check(settings, "S1/MILK")

    # Then it is resolved, and the resolution is published
    assert alert_of(db, "MILK").status == "resolved"
    wait_until(
        lambda: any(m["event"] == "resolved" for m in subscriber.messages), 10, "the resolution"
    )

    # When the stock drops again within the quiet period
    put_skus(db, C, [("S1", "MILK", 3.0, 10.0)])
    check(settings, "S1/MILK")

    # Then the same alert is re-opened, published as reopened, and mailed again
    again = alert_of(db, "MILK")
    assert (again.id, again.status) == (milk.id, "open")
    assert events_of(db, milk.id) == ["created", "resolved", "reopened"]
    wait_until(
        lambda: any(
            m["event"] == "reopened" and m["alert_id"] == milk.id for m in subscriber.messages
        ),
        10,
        "the reopening message",
    )
    assert mailed(db, milk.id) == [("created", OPS), ("reopened", OPS)]


def test_a_silenced_alert_is_stored_and_listed_but_neither_published_nor_mailed(
    shop, settings, capsys
):
    db, subscriber = shop
    # Given an operator silences MILK at S1 for two hours
    code, out, err = cli(
        capsys,
        "silence",
        "add",
        "--customer",
        C,
        "--store",
        "S1",
        "--product",
        "MILK",
        "--until",
        "2h",
        "--by",
        "kim",
        "--reason",
        "stocktake",
        "--json",
    )
    assert code == 0, err
    silence = json.loads(out)
    assert (silence["active"], silence["reason"]) == (True, "stocktake")

    # When the customer's SKUs are checked
    check(settings)

    # Then MILK's alert exists, marked silenced, while EGGS' is normal
    milk = alert_of(db, "MILK")
    assert milk.silence_id == silence["silence_id"]
    assert alert_of(db, "EGGS").silence_id is None
    # And only EGGS' creation was published; MILK's critical alert was not mailed
    wait_until(lambda: subscriber.messages, 10, "EGGS' creation message")
    wait_idle(settings)
    assert {m["product_id"] for m in subscriber.messages} == {"EGGS"}
    assert mailed(db, milk.id) == []
    assert rows(db, "SELECT count(*) FROM email_deliveries")[0][0] == 0

    # And `alerts list` shows it as silenced, and can filter on it
    code, out, _ = cli(capsys, "alerts", "list", "--customer", C, "--product", "MILK")
    assert "open (silenced)" in out
    code, out, _ = cli(capsys, "alerts", "list", "--customer", C, "--silenced", "--json")
    assert [a["product_id"] for a in json.loads(out)] == ["MILK"]
    code, out, _ = cli(capsys, "silence", "list", "--json")
    assert [s["silence_id"] for s in json.loads(out)] == [silence["silence_id"]]

    # When the silence is expired and MILK is checked again while still critical
    assert cli(capsys, "silence", "expire", str(silence["silence_id"]), "--by", "kim")[0] == 0
    check(settings, "S1/MILK")

    # Then it is announced now: published and mailed
    assert mailed(db, milk.id) == [("updated", OPS)]
    wait_until(
        lambda: any(m["product_id"] == "MILK" for m in subscriber.messages),
        10,
        "MILK's message after the silence",
    )
    assert alert_of(db, "MILK").silence_id is None
    code, out, _ = cli(capsys, "silence", "list", "--json")
    assert json.loads(out) == []
    # And expiring it twice is refused
    code, _, err = cli(capsys, "silence", "expire", str(silence["silence_id"]), "--by", "kim")
    assert code == 2 and "has already ended" in err


def test_low_forecast_accuracy_lowers_the_stockout_alert_and_so_it_is_not_mailed(shop, settings):
    db, _ = shop
    # Given forecast_accuracy_low is active for S1/MILK
    put_accuracy_alert(db, C, "S1", "MILK")

    # When MILK (0.3 days of stock: critical) is checked
    check(settings, "S1/MILK", "S1/EGGS")

    # Then its stockout alert is high, saying why, and the critical-only recipient got nothing
    milk = alert_of(db, "MILK")
    assert milk.severity == "high"
    assert milk.metadata["severity_before_inhibition"] == "critical"
    assert milk.metadata["inhibited_by"] == "forecast_accuracy_low"
    assert alert_of(db, "EGGS").severity == "high"
    assert "inhibited_by" not in alert_of(db, "EGGS").metadata
    assert rows(db, "SELECT count(*) FROM email_deliveries")[0][0] == 0


def test_an_acknowledged_alert_is_not_mailed_again_until_it_escalates(shop, settings, capsys):
    db, subscriber = shop
    put_recipients(db, C, {BUYER: "high"})
    check(settings)
    eggs = alert_of(db, "EGGS")
    assert eggs.severity == "high"
    assert mailed(db, eggs.id) == [("created", BUYER)]

    # When an operator acknowledges it, saying a transfer is on its way
    code, _, err = cli(
        capsys,
        "alerts",
        "ack",
        str(eggs.id),
        "--by",
        "kim",
        "--outcome",
        "transferred",
        "--note",
        "20 from S2",
    )
    assert code == 0, err

    # And its stock changes but it stays high
    put_skus(db, C, [("S1", "EGGS", 12.0, 10.0)])
    check(settings, "S1/EGGS")

    # Then it is updated, still acknowledged, and not mailed again
    assert alert_of(db, "EGGS").status == "acknowledged"
    assert events_of(db, eggs.id) == ["created", "acknowledged", "updated"]
    assert mailed(db, eggs.id) == [("created", BUYER)]

    # When it escalates to critical
    put_skus(db, C, [("S1", "EGGS", 5.0, 10.0)])
    check(settings, "S1/EGGS")

    # Then it is open again and mailed to both recipients
    assert alert_of(db, "EGGS").status == "open"
    assert sorted(mailed(db, eggs.id)) == [
        ("created", BUYER),
        ("escalated", BUYER),
        ("escalated", OPS),
    ]

    # And `alerts show` tells the whole story, with the outcome and note
    code, out, _ = cli(capsys, "alerts", "show", str(eggs.id), "--json")
    shown = json.loads(out)
    assert (shown["acknowledged_by"], shown["acknowledged_outcome"]) == ("kim", "transferred")
    assert [(h["event"], h["actor"]) for h in shown["history"]] == [
        ("created", "system"),
        ("acknowledged", "kim"),
        ("updated", "system"),
        ("escalated", "system"),
    ]
    assert shown["history"][1]["note"] == "20 from S2"
    assert shown["history"][1]["outcome"] == "transferred"
    code, out, _ = cli(capsys, "alerts", "show", str(eggs.id))
    assert "outcome    transferred; note: 20 from S2" in out and "escalated" in out
    # And every transition went out on the channel with its event
    wait_until(
        lambda: (
            [m["event"] for m in subscriber.messages if m["alert_id"] == eggs.id]
            == ["created", "acknowledged", "updated", "escalated"]
        ),
        10,
        "EGGS' four messages",
    )


def test_bad_lifecycle_commands_are_refused_and_change_nothing(shop, settings, capsys):
    db, _ = shop
    check(settings, "S1/MILK")
    milk = alert_of(db, "MILK")
    # An unknown outcome is refused by the parser
    with pytest.raises(SystemExit):
        cli(capsys, "alerts", "ack", str(milk.id), "--by", "kim", "--outcome", "fixed")
    # A silence in the past, or without a reason, is refused saying why
    code, _, err = cli(
        capsys,
        "silence",
        "add",
        "--customer",
        C,
        "--until",
        "2000-01-01T00:00:00",
        "--by",
        "kim",
        "--reason",
        "x",
    )
    assert code == 2 and "--until must be in the future" in err
    code, _, err = cli(
        capsys,
        "silence",
        "add",
        "--customer",
        C,
        "--until",
        "1h",
        "--by",
        "kim",
        "--reason",
        " ",
    )
    assert code == 2 and "--reason must say why" in err
    code, _, err = cli(capsys, "alerts", "show", "999999")
    assert code == 2 and "alert 999999 does not exist" in err
    # Then nothing changed
    assert rows(db, "SELECT count(*) FROM alert_silences")[0][0] == 0
    assert alert_of(db, "MILK").status == "open"
    assert events_of(db, milk.id) == ["created"]
