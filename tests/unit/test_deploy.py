"""docker-compose.yml: each service's health check probes that service alone, Flower keeps a
bounded task list and its credentials off the command line and listens on this host only,
there is no default database password, our services have time to stop cleanly, and the
monitoring profile is provisioned with the rules and the dashboard.

Docker cannot run here: these parse the file, and interpolate ``${…}`` as compose does."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

from shelfops_alerts.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
#: The services of ours that run until stopped, and must stop cleanly.
LONG_RUNNING = ("worker-alerts", "worker-email", "beat", "flower")
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:[-?])(?P<arg>[^}]*))?\}")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


class MissingVariable(Exception):
    """Compose would refuse to start: a ``${NAME:?message}`` variable is not set."""


def interpolate(value: str, env: dict[str, str]) -> str:
    """``value`` with ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?message}`` replaced as
    compose replaces them (an empty value counts as unset for ``:-`` and ``:?``)."""

    def one(match: re.Match[str]) -> str:
        found = env.get(match["name"], "")
        if match["op"] == ":?" and not found:
            raise MissingVariable(f"{match['name']}: {match['arg']}")
        if match["op"] == ":-" and not found:
            return match["arg"]
        return found

    return _VARIABLE.sub(one, value)


def seconds(duration: str | int) -> float:
    """A compose duration (``60s``, ``1m30s``, ``90``) in seconds."""
    if isinstance(duration, int):
        return float(duration)
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?", duration.strip())
    assert parts and duration.strip(), f"not a duration: {duration!r}"
    hours, minutes, secs = (float(p or 0) for p in parts.groups())
    return hours * 3600 + minutes * 60 + secs


def test_each_shelfops_service_probes_itself():
    services = compose()["services"]
    probes = {
        name: service["healthcheck"]["test"]
        for name, service in services.items()
        if service.get("build") or "shelfops" in str(service.get("<<", ""))
        if "healthcheck" in service
    }
    assert probes["worker-alerts"][1:] == ["shelfops-alerts", "probe", "worker", "--name", "alerts"]
    assert probes["worker-email"][-1] == "email"
    assert probes["beat"][1:] == ["shelfops-alerts", "probe", "beat"]
    assert probes["flower"][1:4] == ["shelfops-alerts", "probe", "flower"]
    assert probes["metrics"][1:4] == ["shelfops-alerts", "probe", "metrics"]
    # The worker probe pings the node the worker names itself (-n NAME@%h)
    for name in ("alerts", "email"):
        entrypoint = services[f"worker-{name}"]["entrypoint"]
        assert entrypoint[entrypoint.index("-n") + 1] == f"{name}@%h"


def test_flower_keeps_a_bounded_task_list_and_its_password_out_of_argv():
    flower = compose()["services"]["flower"]
    assert "--max_tasks=10000" in flower["entrypoint"]
    assert not any("basic" in part or "PASSWORD" in part for part in flower["entrypoint"])
    # The credentials are FLOWER_BASIC_AUTH from the environment, required, never a default
    auth = flower["environment"]["FLOWER_BASIC_AUTH"]
    assert auth.startswith("${FLOWER_BASIC_AUTH:?")
    with pytest.raises(MissingVariable, match="FLOWER_BASIC_AUTH"):
        interpolate(auth, {})
    assert interpolate(auth, {"FLOWER_BASIC_AUTH": "ops:pw"}) == "ops:pw"


def test_published_ports_listen_on_this_host_only():
    # Flower's /metrics and /healthcheck answer anyone, and its API can send tasks; nor do
    # Prometheus or Grafana belong on the internet without a proxy.
    services = compose()["services"]
    published = {name: s["ports"] for name, s in services.items() if "ports" in s}
    assert published["flower"] == ["127.0.0.1:5555:5555"]
    for name, ports in published.items():
        for port in ports:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every address"


def test_compose_refuses_to_start_without_a_database_password():
    services = compose()["services"]
    postgres_env = services["postgres"]["environment"]
    url = services["worker-alerts"]["environment"]["SHELFOPS_DATABASE_URL"]
    # Given no POSTGRES_PASSWORD, When compose interpolates, Then it stops, naming it
    for value in (postgres_env["POSTGRES_PASSWORD"], url):
        with pytest.raises(MissingVariable, match="POSTGRES_PASSWORD"):
            interpolate(value, {})
    # And with one, the server and every service of ours use that same password
    env = {"POSTGRES_PASSWORD": "s3cret"}
    assert interpolate(postgres_env["POSTGRES_PASSWORD"], env) == "s3cret"
    for name, service in services.items():
        if "SHELFOPS_DATABASE_URL" in service.get("environment", {}):
            assert interpolate(service["environment"]["SHELFOPS_DATABASE_URL"], env) == (
                "postgresql://shelfops:s3cret@postgres:5432/shelfops"
            ), name
    # And no secret anywhere in the file has a default value to fall back on
    text = (ROOT / "docker-compose.yml").read_text()
    for match in _VARIABLE.finditer(text):
        if re.search(r"PASSWORD|AUTH|KEY|SECRET|TOKEN", match["name"]):
            assert match["op"] != ":-" or match["arg"] == "", match.group(0)
    assert not re.search(r"PASSWORD:\s*[\w\"']", text), "a literal password is set"


def test_our_long_running_services_have_health_checks_and_time_to_stop(monkeypatch, tmp_path):
    services = compose()["services"]
    # Given the settings every service of ours gets (their defaults, where compose has none)
    env = {
        name: interpolate(str(value), {"POSTGRES_PASSWORD": "pw"})
        for name, value in services["worker-email"]["environment"].items()
    }
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(env)
    config = importlib.import_module("workers.app").celery_config(settings)
    longest = max(
        settings.email_timeout_s,
        float(config.get("task_time_limit") or 0),
        float(config.get("task_soft_time_limit") or 0),
    )
    for name in LONG_RUNNING:
        service = services[name]
        # Then each has a health check probing itself
        assert service["healthcheck"]["test"][1:3] == ["shelfops-alerts", "probe"], name
        # And more time to stop (Celery's warm shutdown) than a send or a task may take
        grace = seconds(service.get("stop_grace_period", "10s"))
        assert grace > longest, f"{name}: stop_grace_period {grace:g} s <= {longest:g} s"


def test_the_monitoring_profile_mounts_the_rules_and_the_dashboard():
    services = compose()["services"]
    for name in ("metrics", "prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
    mounted = " ".join(services["prometheus"]["volumes"] + services["grafana"]["volumes"])
    assert "deploy/prometheus/rules.yml" in mounted
    assert "deploy/prometheus/shelfops-dashboard.json" in mounted
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    assert prometheus["rule_files"] == ["/etc/prometheus/rules.yml"]
    assert prometheus["scrape_configs"][0]["static_configs"][0]["targets"] == ["metrics:9808"]


def test_the_image_logs_json():
    assert "SHELFOPS_LOG_FORMAT=json" in (ROOT / "Dockerfile").read_text()
