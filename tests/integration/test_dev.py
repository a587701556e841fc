"""`shelfops-alerts dev`, as a newcomer runs it: the whole stack from nothing but Python."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from shelfops_alerts.stack.embedded import free_port
from tests.support.processes import started_here
from tests.support.waiting import wait_until

SCRIPT = str(Path(sys.executable).parent / "shelfops-alerts")


@pytest.fixture()
def folder():
    # Outside pytest's private temporary root: PostgreSQL runs as an unprivileged user.
    path = Path(tempfile.mkdtemp(prefix="shelfops-dev-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SHELFOPS_") and k != "SENDGRID_API_KEY"
    }


def test_dev_runs_the_stack_shows_alerts_and_stops_everything_on_ctrl_c(folder):
    port, web_port = free_port(), free_port()
    # Given a user who chose where e-mails go (a relative folder, as in a .env)
    dev = subprocess.Popen(
        [SCRIPT, "dev", "--flower-port", str(port), "--web-port", str(web_port)],
        cwd=folder,
        env={**clean_env(), "SHELFOPS_OUTBOX_DIR": "mail"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(dev.stdout.readline, "")))
    reader.start()
    try:
        # Then the demo's nine alerts (five stockouts, a reorder, a sales spike, phantom
        # inventory, an inaccurate forecast) are printed as they are published
        wait_until(lambda: sum(" created " in f" {ln}" for ln in lines) >= 9, 90, "9 alerts")
        created = [ln for ln in lines if ln.startswith("created ")]
        assert len(created) == 9, created
        assert any("CRITICAL" in ln and "S01/P001" in ln for ln in lines)
        for what in ("S02/P008", "S02/P010", "S01/P012", "S03/P015"):
            assert any(what in ln for ln in created), what

        # And the demo customer's dashboard link logs in
        [link] = [ln.split(": ", 1)[1].strip() for ln in lines if ln.startswith("dashboard of")]
        assert link.startswith(f"http://localhost:{web_port}/login?code=")
        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(link.replace("localhost", "127.0.0.1"), timeout=5)
        assert (
            redirect.value.code == 303
            and "shelfops_session=" in redirect.value.headers["set-cookie"]
        )

        # And the critical and high ones are e-mailed to the user's outbox, not dev's default:
        # for each of the two recipients the first at once, the rest in one digest when the
        # window closes
        outbox = folder / "mail"
        wait_until(lambda: len(list(outbox.glob("*.eml"))) >= 4, 40, "4 e-mails")
        assert not (folder / ".shelfops" / "outbox").exists()
        mails = "".join(p.read_text() for p in outbox.glob("*.eml"))
        for product in ("P001", "P002", "P004"):
            assert f"product {product}" in mails or product in mails

        # And Flower shows the tasks
        def flower_tasks() -> dict:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tasks", timeout=5) as r:
                return json.load(r)

        names = wait_until(
            lambda: (
                {t["name"] for t in flower_tasks().values()}
                >= {
                    "shelfops.forecast_completed",
                    "shelfops.check_stockout_risk",
                    "shelfops.dedup_and_persist",
                    "shelfops.publish_alerts",
                    "shelfops.send_alert_email",
                }
            ),
            30,
            "Flower to list every task",
        )
        assert names

        # And another command in the same folder finds the stack without any setting
        status = subprocess.run(
            [SCRIPT, "status"], cwd=folder, env=clean_env(), capture_output=True, text=True
        )
        assert status.returncode == 0, status.stdout + status.stderr
        assert "healthy" in status.stdout
        assert len(started_here(folder)) >= 7  # servers, two workers, beat, Flower, web
    finally:
        # When the user presses Ctrl-C
        dev.send_signal(signal.SIGINT)
        code = dev.wait(60)
        reader.join(10)
    assert code == 0, "".join(lines)
    # Then everything it started is gone, and the folder no longer points at it
    assert not (folder / ".shelfops" / "stack.env").exists()
    time.sleep(0.5)
    assert started_here(folder) == [], "processes still running after Ctrl-C"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # keep the 303 (and its cookie) to look at
        return None
