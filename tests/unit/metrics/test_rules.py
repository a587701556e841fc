"""The alert rules and the dashboard name only metrics the exporter serves."""

from __future__ import annotations

import json
from pathlib import Path

import promql_parser
import pytest
import yaml

from shelfops_alerts.config import Settings
from shelfops_alerts.metrics import FAMILIES, ShelfopsCollector

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "prometheus"
#: Series Prometheus itself records for every target it scrapes (not the exporter's).
PROMETHEUS_OWN = {"up": ()}
#: Labels Prometheus adds to every scraped series.
TARGET_LABELS = ("job", "instance")


def served() -> dict[str, tuple[str, ...]]:
    """Metric name -> label names: the names as the collector describes itself (without
    reading any server), the labels from the catalogue it renders every family from."""
    settings = Settings(database_url="postgresql://nowhere/db", redis_url="redis://nowhere:1/0")
    names = {family.name for family in ShelfopsCollector(settings).describe()}
    labels = {family.name: family.labels for family in FAMILIES}
    return {name: labels[name] for name in names}


def selectors(expr: str) -> list[promql_parser.VectorSelector]:
    """Every vector selector in a PromQL expression (which also checks its syntax)."""
    found = []

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
            return
        for attr in ("lhs", "rhs", "expr", "vector_selector", "param"):
            child = getattr(node, attr, None)
            if child is not None and not isinstance(child, str | int | float):
                visit(child)
        for arg in getattr(node, "args", None) or []:
            visit(arg)

    visit(promql_parser.parse(expr))
    return found


def rule_expressions() -> list[tuple[str, str]]:
    rules = yaml.safe_load((DEPLOY / "rules.yml").read_text())
    return [(rule["alert"], rule["expr"]) for group in rules["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[tuple[str, str]]:
    dashboard = json.loads((DEPLOY / "shelfops-dashboard.json").read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def check(where: str, expr: str, known: dict[str, tuple[str, ...]]) -> None:
    used = selectors(expr)
    assert used, f"{where}: names no metric"
    for selector in used:
        assert selector.name in known, f"{where}: {selector.name} is not served"
        for matcher in selector.matchers.matchers:
            if matcher.name == "__name__":
                continue
            assert matcher.name in known[selector.name] + TARGET_LABELS, (
                f"{where}: {selector.name} has no label {matcher.name}"
            )


def test_the_collector_describes_its_labels():
    # The check below is only as good as the names and labels it compares against
    known = served()
    assert known["shelfops_queue_depth"] == ("queue",)
    assert known["shelfops_alerts_active"] == ("alert_type", "severity")
    assert known["shelfops_sweep_interval_seconds"] == ()


@pytest.mark.parametrize(("alert", "expr"), rule_expressions(), ids=lambda v: str(v)[:40])
def test_every_rule_names_only_served_metrics_and_labels(alert, expr):
    check(alert, expr, served() | PROMETHEUS_OWN)


@pytest.mark.parametrize(("panel", "expr"), dashboard_expressions(), ids=lambda v: str(v)[:40])
def test_every_dashboard_panel_names_only_served_metrics(panel, expr):
    check(panel, expr, served())


def test_the_rules_cover_what_operators_asked_for():
    alerts = {name for name, _ in rule_expressions()}
    assert {
        "ShelfopsQueueBacklogGrowing",
        "ShelfopsSweepStale",
        "ShelfopsEmailsFailing",
        "ShelfopsOutboxNotDraining",
        "ShelfopsNoConsumer",
    } <= alerts


def test_a_misspelt_metric_would_be_caught():
    with pytest.raises(AssertionError, match="shelfops_queue_dept is not served"):
        check("typo", "shelfops_queue_dept > 0", served())
    with pytest.raises(AssertionError, match="has no label customer"):
        check("label", 'shelfops_alerts_active{customer="acme"} > 0', served())
