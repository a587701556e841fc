"""docker-compose.yml: each service's health check probes that service alone, Flower keeps a
bounded task list and its password off the command line, and the monitoring profile is
provisioned with the rules and the dashboard."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


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
    assert "FLOWER_PASSWORD" in flower["environment"]["FLOWER_BASIC_AUTH"]


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
