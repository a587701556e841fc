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

import psutil
import pytest

from shelfops_alerts.stack.embedded import free_port
from shelfops_alerts.stack.supervisor import MAX_QUICK_FAILURES
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


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # keep the 303 (and its cookie) to look at
        return None


def _as_from_a_terminal() -> None:
    """Ctrl-C reaches dev as it would from a terminal: a test run started in the background
    by a non-interactive shell ignores SIGINT, and dev would inherit that (then Python never
    raises KeyboardInterrupt, and the test's Ctrl-C is lost)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Dev:
    """`shelfops-alerts dev` running in ``folder`` on free ports, its output collected."""

    def __init__(self, folder: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.flower_port, self.web_port = free_port(), free_port()
        ports = ["--flower-port", str(self.flower_port), "--web-port", str(self.web_port)]
        self.folder = folder
        self.process = subprocess.Popen(
            [SCRIPT, "dev", *ports, *args],
            cwd=folder,
            env={**clean_env(), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_as_from_a_terminal,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(
            target=lambda: self.lines.extend(iter(self.process.stdout.readline, ""))
        )
        self.reader.start()

    def wait_for(self, what: str, timeout: float = 90, count: int = 1) -> list[str]:
        found = wait_until(
            lambda: (
                [ln for ln in self.lines if what in ln][:count]
                if sum(what in ln for ln in self.lines) >= count
                else None
            ),
            timeout,
            f"{count} line(s) with {what!r} from dev; it printed:\n" + "".join(self.lines),
        )
        return list(found)

    def recorded(self) -> dict[str, int]:
        """The processes dev says it started (.shelfops/stack.json): name → pid."""
        state = json.loads((self.folder / ".shelfops" / "stack.json").read_text())
        return {p["name"]: p["pid"] for p in state["processes"]} | {"dev": state["dev"]["pid"]}

    def stop(self) -> int:
        """Ctrl-C; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        code = self.process.wait(60)
        self.reader.join(10)
        return code


def cli(folder: Path, *args: str) -> str:
    done = subprocess.run(
        [SCRIPT, *args], cwd=folder, env=clean_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def empty_a_shelf_and_emit(folder: Path, sku: str = "S01/P006") -> None:
    """Set the demo SKU's stock to zero (a new critical alert) and emit its event."""
    store, product = sku.split("/")
    (folder / "empty.csv").write_text(
        f"customer_id,store_id,product_id,on_hand\ndemo-grocer,{store},{product},0\n"
    )
    cli(folder, "import", "inventory", "empty.csv")
    cli(folder, "emit", "forecast-complete", "--customer", "demo-grocer", "--sku", sku)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_dev_runs_the_demo_restarts_a_killed_worker_and_gives_up_on_a_dying_service(folder):
    # Given a user who chose where e-mails go (a relative folder, as in a .env)
    dev = Dev(folder, env={"SHELFOPS_OUTBOX_DIR": "mail"})
    lines = dev.lines
    try:
        # When they run dev, Then the demo's nine alerts (five stockouts, a reorder, a sales
        # spike, phantom inventory, an inaccurate forecast) are printed as they are published
        dev.wait_for("created ", count=9)
        created = [ln for ln in lines if ln.startswith("created ")]
        assert len(created) == 9, created
        assert any("CRITICAL" in ln and "S01/P001" in ln for ln in lines)
        for what in ("S02/P008", "S02/P010", "S01/P012", "S03/P015"):
            assert any(what in ln for ln in created), what

        # And the demo customer's dashboard link logs in
        [link] = [ln.split(": ", 1)[1].strip() for ln in lines if ln.startswith("dashboard of")]
        assert link.startswith(f"http://localhost:{dev.web_port}/login?code=")
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
            url = f"http://127.0.0.1:{dev.flower_port}/api/tasks"
            with urllib.request.urlopen(url, timeout=5) as r:
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

        worker = dev.recorded()["alerts worker"]
        # When its alerts worker is killed outright
        os.kill(worker, signal.SIGKILL)
        # Then dev says which process died, how, and where its log is, and starts it again
        dev.wait_for(
            f"! alerts worker (pid {worker}) was killed by SIGKILL; log: .shelfops/logs/alerts.log",
            timeout=10,
        )
        [restarted] = dev.wait_for("alerts worker restarted (pid ", timeout=30)
        new = int(restarted.split("(pid ")[1].rstrip(")\n"))
        assert new != worker and alive(new) and dev.recorded()["alerts worker"] == new
        # And an event emitted now still ends as a printed alert
        empty_a_shelf_and_emit(folder)
        dev.wait_for("S01/P006", timeout=60)
        assert any(ln.startswith("created ") and "S01/P006" in ln for ln in dev.lines)

        # When the web service dies again and again, each time soon after its restart
        web, kills = dev.recorded()["web service"], 0
        while dev.process.poll() is None and kills < MAX_QUICK_FAILURES + 2:
            os.kill(web, signal.SIGKILL)
            kills += 1
            wait_until(
                lambda n=kills: (
                    dev.process.poll() is not None
                    or sum("web service restarted (pid " in ln for ln in dev.lines) >= n
                ),
                60,
                f"web service restart {kills}",
            )
            if dev.process.poll() is None:
                restart = [ln for ln in dev.lines if "web service restarted (pid " in ln][-1]
                web = int(restart.split("(pid ")[1].rstrip(")\n"))
                wait_until(lambda pid=web: alive(pid), 10, "the restarted web service")
    finally:
        code = dev.stop()
    # Then dev gave up at its fifth quick death (the first came after a long healthy run, or
    # not), named it and its log, and stopped everything with exit code 1
    assert kills in (MAX_QUICK_FAILURES, MAX_QUICK_FAILURES + 1), "".join(dev.lines)
    assert code == 1, "".join(dev.lines)
    assert (
        f"error: web service died {MAX_QUICK_FAILURES} times in a row within 30 s of starting;"
        " see its log: .shelfops/logs/web.log. Stopping everything.\n"
    ) in dev.lines
    time.sleep(0.5)
    assert started_here(folder) == [], "processes still running after dev gave up"
    assert not (folder / ".shelfops" / "stack.json").exists()


def servers_of(folder: Path) -> tuple[list[int], list[int]]:
    """Pids of the redis-server processes and PostgreSQL postmasters serving this folder."""
    redis_dir, pg_dir = folder / ".shelfops" / "redis", folder / ".shelfops" / "postgres"
    redis_servers, postmasters = [], []
    for proc in psutil.process_iter(["pid", "name", "cwd", "cmdline"]):
        if proc.info["name"] == "redis-server" and proc.info["cwd"] == str(redis_dir):
            redis_servers.append(proc.info["pid"])
        cmdline = proc.info["cmdline"] or []
        if "-D" in cmdline and cmdline[cmdline.index("-D") + 1] == str(pg_dir):
            postmasters.append(proc.info["pid"])
    return redis_servers, postmasters


def test_after_dev_is_killed_the_next_dev_stops_what_it_left_and_runs_one_stack(folder):
    # Given a dev that is killed outright, leaving its servers and children running
    first = Dev(folder, "--no-demo")
    try:
        first.wait_for("Ctrl-C stops everything")
        left = first.recorded()
        os.kill(left.pop("dev"), signal.SIGKILL)
        first.process.wait(10)
        first.reader.join(10)
        assert all(alive(pid) for pid in left.values()), left
        [[old_redis], [postmaster]] = servers_of(folder)
    except BaseException:
        first.stop()
        raise

    # When dev is started again in the same folder
    second = Dev(folder)
    try:
        # Then it says what it stopped and what it reused
        second.wait_for("Ctrl-C stops everything")
        for name, pid in left.items():
            assert f"stopped {name} (pid {pid}), left running by a killed dev\n" in second.lines
            assert not alive(pid), name
        assert f"reusing PostgreSQL (pid {postmaster}), left running by a killed dev\n" in (
            second.lines
        )
        # And one Redis and one PostgreSQL serve the folder: the reused cluster, a new Redis
        redis_servers, postmasters = servers_of(folder)
        assert postmasters == [postmaster]
        assert len(redis_servers) == 1 and redis_servers != [old_redis]
        # And the demo works: its nine alerts, then a new one
        second.wait_for("created ", count=9)
        empty_a_shelf_and_emit(folder)
        second.wait_for("S01/P006", timeout=60)
    finally:
        # When the user presses Ctrl-C
        code = second.stop()
    # Then everything it started is gone, and the folder no longer points at it
    assert code == 0, "".join(second.lines)
    assert not (folder / ".shelfops" / "stack.env").exists()
    time.sleep(0.5)
    assert started_here(folder) == [], "processes still running after Ctrl-C"
