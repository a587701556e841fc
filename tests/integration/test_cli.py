"""The user's door: `shelfops-alerts` commands against the real stack and workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.integration.conftest import wait_idle
from tests.support.cli import run
from tests.support.data import rows, today


def write_csvs(folder: Path) -> dict[str, Path]:
    day0 = today()
    inventory = folder / "inventory.csv"
    inventory.write_text(
        "customer_id,store_id,product_id,on_hand,on_order\nshop,S1,MILK,3,0\nshop,S1,BREAD,50,0\n"
    )
    forecasts = folder / "forecasts.csv"
    lines = ["customer_id,store_id,product_id,date,forecasted_demand,run_id"]
    for n in range(7):
        date = day0.fromordinal(day0.toordinal() + n).isoformat()
        lines += [f"shop,S1,MILK,{date},6,r1", f"shop,S1,BREAD,{date},5,r1"]
    forecasts.write_text("\n".join(lines) + "\n")
    recipients = folder / "recipients.csv"
    recipients.write_text("customer_id,email\nshop,ops@shop.example\n")
    return {"inventory": inventory, "forecasts": forecasts, "recipients": recipients}


def test_a_user_imports_csvs_emits_an_event_and_acts_on_the_alert(
    pipeline, cli_env, settings, capsys, tmp_path
):
    files = write_csvs(tmp_path)
    assert run(capsys, "db", "upgrade")[0] == 0
    assert run(capsys, "db", "upgrade")[0] == 0  # harmless twice
    for kind, path in files.items():
        code, out, _ = run(capsys, "import", kind, str(path))
        assert code == 0, out
    assert (
        "imported 14 forecasts row(s) for 1 customer(s)"
        in run(capsys, "import", "forecasts", str(files["forecasts"]))[1]
    )

    # When the user emits the event and lists the alerts
    code, out, _ = run(capsys, "emit", "forecast-complete", "--customer", "shop", "--json")
    assert code == 0 and json.loads(out)["task_id"]
    wait_idle(settings)
    code, out, _ = run(capsys, "alerts", "list", "--customer", "shop", "--json")
    (alert,) = json.loads(out)
    assert (alert["product_id"], alert["severity"], alert["status"]) == ("MILK", "critical", "open")
    code, out, _ = run(capsys, "alerts", "list", "--status", "open")
    assert "S1/MILK" in out and "critical" in out

    # And a listener sees the acknowledgement and the resolution live
    listener = subprocess.Popen(
        [str(Path(sys.executable).parent / "shelfops-alerts"), "listen", "--customer", "shop"],
        env={**os.environ, **cli_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "listening on alerts:shop" in listener.stderr.readline()
        assert run(capsys, "alerts", "ack", str(alert["alert_id"]), "--by", "ana")[0] == 0
        assert run(capsys, "alerts", "resolve", str(alert["alert_id"]), "--by", "ana")[0] == 0
        first, second = (
            json.loads(listener.stdout.readline()),
            json.loads(listener.stdout.readline()),
        )
    finally:
        listener.terminate()
        listener.wait(10)
    assert (first["event"], first["status"]) == ("acknowledged", "acknowledged")
    assert (second["event"], second["status"]) == ("resolved", "resolved")
    history = rows(pipeline, "SELECT event, actor FROM alert_history ORDER BY id")
    assert [(h.event, h.actor) for h in history] == [
        ("created", "system"),
        ("acknowledged", "ana"),
        ("resolved", "ana"),
    ]

    # And a second acknowledgement of a resolved alert is refused, changing nothing
    code, _, err = run(capsys, "alerts", "ack", str(alert["alert_id"]), "--by", "ana")
    assert code == 2 and "is resolved; it cannot be acknowledged" in err


def test_status_is_healthy_with_workers_and_exits_1_while_something_is_down(
    pipeline, cli_env, capsys, monkeypatch, stack
):
    code, out, _ = run(capsys, "status", "--json")
    report = json.loads(out)
    assert code == 0 and report["healthy"]
    assert report["workers"]["alerts"]["workers"] and report["workers"]["email"]["workers"]

    # Given a database that has never been migrated, status says it is behind
    engine = create_engine(stack.postgres.url.replace("postgresql://", "postgresql+psycopg2://"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("DROP DATABASE IF EXISTS unmigrated"))
        connection.execute(text("CREATE DATABASE unmigrated"))
    engine.dispose()
    monkeypatch.setenv(
        "SHELFOPS_DATABASE_URL", stack.postgres.url.replace("/shelfops?", "/unmigrated?")
    )
    code, out, _ = run(capsys, "status")
    assert code == 1 and "migrations behind" in out and "NOT healthy" in out

    # And with Redis unreachable, status says so
    monkeypatch.setenv("SHELFOPS_REDIS_URL", "redis://127.0.0.1:1/0")
    code, out, _ = run(capsys, "status", "--json")
    assert code == 1 and json.loads(out)["redis"]["ok"] is False
