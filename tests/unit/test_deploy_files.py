"""The Dockerfile and docker-compose.yml match the package (docker itself cannot run here).

The image installs the package without the `embedded` extra and copies only what exists;
every compose service built from it runs the CLI or ``celery -A workers`` and sets only real
settings. Templates ship inside the package, so nothing mounts or names a templates folder.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from shelfops_alerts.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def documented_settings() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))


def cli_commands() -> set[str]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    return set(sub.choices)  # type: ignore[arg-type]


def image_services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return {name: s for name, s in compose["services"].items() if s.get("build") == "."}


def test_every_service_from_the_image_runs_the_cli_or_celery_with_real_settings():
    services = image_services()
    assert {"migrate", "worker-alerts", "worker-email", "beat", "flower"} <= set(services)
    settings = documented_settings()
    for name, service in services.items():
        # Only settings that exist (and Flower's own FLOWER_* options), and no templates
        # folder (they ship in the package)
        unknown = {
            var for var in service.get("environment", {}) if not var.startswith("FLOWER_")
        } - settings
        assert not unknown, f"{name} sets variables that are not settings: {sorted(unknown)}"
        assert "SHELFOPS_TEMPLATES_DIR" not in service.get("environment", {})
        assert not [v for v in service.get("volumes", []) if "templates" in v], name
        # Started as an operator starts it: `celery -A workers …` or a CLI command
        entrypoint = service.get("entrypoint")
        if entrypoint is None:
            assert service["command"][0] in cli_commands(), f"{name}: {service['command']}"
        else:
            assert entrypoint[:3] == ["celery", "-A", "workers"], f"{name}: {entrypoint}"


def test_the_image_copies_what_exists_and_installs_without_the_embedded_servers():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            *sources, _ = shlex.split(line)[1:]
            missing = [s for s in sources if not (ROOT / s).exists()]
            assert not missing, f"Dockerfile copies what does not exist: {missing}"
    assert "templates" not in dockerfile
    (install,) = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert re.search(r"pip install .*\s\.(\s|$)", install), install
    assert "embedded" not in install and "-e " not in install
    entrypoint = re.search(r'^ENTRYPOINT \["([^"]+)"\]', dockerfile, re.MULTILINE)
    assert entrypoint and entrypoint[1] == "shelfops-alerts"
