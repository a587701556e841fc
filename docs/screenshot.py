"""Take the README's dashboard screenshot: ``python docs/screenshot.py [docs/dashboard.png]``.

Runs ``shelfops-alerts dev`` (the demo) in a temporary folder on free ports, acknowledges one
alert as an operator would, opens the printed login link in headless Chromium (Debian's
``/usr/bin/chromium``, driven by Playwright) and saves the live ``/alerts`` page as a PNG.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from shelfops_alerts.stack.embedded import free_port

SCRIPT = str(Path(sys.executable).parent / "shelfops-alerts")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def wait_for(lines: list[str], predicate, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate(lines):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}:\n" + "".join(lines))
        time.sleep(0.2)


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/dashboard.png").resolve()
    folder = Path(tempfile.mkdtemp(prefix="shelfops-screenshot-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHELFOPS_")}
    web_port = free_port()
    dev = subprocess.Popen(
        [SCRIPT, "dev", "--web-port", str(web_port), "--flower-port", str(free_port())],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(dev.stdout.readline, "")))
    reader.start()
    try:
        wait_for(lines, lambda ls: sum(ln.startswith("created ") for ln in ls) >= 9, "9 alerts")
        [link] = [ln.split(": ", 1)[1].strip() for ln in lines if ln.startswith("dashboard of")]
        [late] = [ln for ln in lines if ln.startswith("created ") and "S01/P002" in ln]
        alert_id = late.split("#")[1].split()[0]
        subprocess.run(
            [SCRIPT, "alerts", "ack", alert_id, "--by", "maria", "--outcome", "ordered"],
            cwd=folder,
            env=env,
            check=True,
            capture_output=True,
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1360, "height": 860})
            page.goto(link)
            page.wait_for_selector("body[data-live=on]")
            page.wait_for_selector("tr[data-status=acknowledged] small")
            time.sleep(0.5)
            page.screenshot(path=str(target), full_page=True)
            browser.close()
        print(f"saved {target}")
    finally:
        dev.send_signal(signal.SIGINT)
        dev.wait(60)
        reader.join(10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
