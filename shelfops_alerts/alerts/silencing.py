"""Which silence mutes a finding: matching only (the silences themselves: silences.py).

A silence names a customer and, optionally, a store, a product and an alert type; it
matches a finding of that customer when every field it names is equal (a field it leaves
out matches anything). Of several matching silences the oldest (lowest id) is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from shelfops_alerts.alerts.muting import Verdict
from shelfops_alerts.detect.rules.finding import Finding


@dataclass(frozen=True)
class SilenceRule:
    """An active silence as persist needs it: its id and what it matches (None = any)."""

    silence_id: int
    store_id: str | None = None
    product_id: str | None = None
    alert_type: str | None = None

    def matches(self, finding: Finding) -> bool:
        return (
            self.store_id in (None, finding.store_id)
            and self.product_id in (None, finding.product_id)
            and self.alert_type in (None, finding.alert_type)
        )


class Silencer:
    """Marks each finding with the oldest of ``rules`` that matches it."""

    def __init__(self, rules: Iterable[SilenceRule]) -> None:
        self.rules = sorted(rules, key=lambda rule: rule.silence_id)

    def judge(self, verdict: Verdict) -> Verdict:
        if verdict.silence_id is not None:
            return verdict
        silence_id = matching_silence(verdict.finding, self.rules)
        return verdict if silence_id is None else replace(verdict, silence_id=silence_id)


def matching_silence(finding: Finding, rules: Iterable[SilenceRule]) -> int | None:
    """The id of the first (oldest) silence matching ``finding``, or None."""
    for rule in sorted(rules, key=lambda r: r.silence_id):
        if rule.matches(finding):
            return rule.silence_id
    return None
