"""What may mute or lower a finding before it is stored: one small interface, two stages.

Alertmanager's shape: inhibition (:mod:`~shelfops_alerts.alerts.inhibition`) and silences
(:mod:`~shelfops_alerts.alerts.silencing`) are each a :class:`Muter`, and persist runs a
batch's findings through them in order. A muter looks at one :class:`Verdict` at a time and
returns it unchanged, lowered (a new finding) or silenced (the silence's id). Pure: no
database, no clock; the callers read what the muters need first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from shelfops_alerts.detect.rules.finding import Finding


@dataclass(frozen=True)
class Verdict:
    """A finding as the muters left it, and the silence that mutes it (None: not muted).

    A silenced finding is still stored (the alert and its history exist, marked silenced)
    but neither published nor e-mailed.
    """

    finding: Finding
    silence_id: int | None = None


class Muter(Protocol):
    """One stage that may lower or silence a finding."""

    def judge(self, verdict: Verdict) -> Verdict:
        """``verdict`` as this stage leaves it."""
        ...


def judge_all(findings: Iterable[Finding], muters: Sequence[Muter]) -> list[Verdict]:
    """Every finding through every muter, in order; one verdict per finding."""
    verdicts = [Verdict(finding) for finding in findings]
    for muter in muters:
        verdicts = [muter.judge(verdict) for verdict in verdicts]
    return verdicts
