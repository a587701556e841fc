"""The fault suite's tally: a customer's alerts and mails against what the floor expects."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine, text

from shelfops_alerts.vocabulary import CRITICAL
from tests.fakes import RecordedRequest

RECIPIENT = "ops@{customer}.example"


@dataclass
class Expected:
    """What the floor says a customer's catalogue must raise: (store, product) → severity."""

    alerts: dict[tuple[str, str], str]

    @property
    def critical(self) -> int:
        return sum(1 for severity in self.alerts.values() if severity == CRITICAL)


@dataclass
class Tally:
    """One scenario's figures, and the lines that say what went wrong."""

    alerts_expected: int
    found: int
    lost: int
    duplicated: int
    emails_expected: int
    sent: int
    sent_twice: int
    problems: list[str] = field(default_factory=list)


def tally(
    engine: Engine, accepted_requests: list[RecordedRequest], expected: Expected, customer: str
) -> Tally:
    """The customer's alerts, and the mails the provider accepted (``accepted_requests``),
    against the floor's ``expected``; see bench/faults.py for what each figure means."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id, store_id, product_id, status, severity, alert_type FROM alerts"
                " WHERE customer_id = :c"
            ),
            {"c": customer},
        ).all()
        created = connection.execute(
            text(
                "SELECT h.alert_id, count(*) FROM alert_history h JOIN alerts a"
                " ON a.id = h.alert_id WHERE a.customer_id = :c AND h.event = 'created'"
                " GROUP BY 1 HAVING count(*) > 1"
            ),
            {"c": customer},
        ).all()
        failed = connection.execute(
            text(
                "SELECT count(*) FROM email_deliveries d JOIN alerts a ON a.id = d.alert_id"
                " WHERE a.customer_id = :c AND d.status = 'failed'"
            ),
            {"c": customer},
        ).scalar_one()
        parked = connection.execute(
            text("SELECT count(*) FROM dead_letters WHERE status = 'parked'")
        ).scalar_one()
    active = {
        (r.store_id, r.product_id): r.severity
        for r in rows
        if r.status in ("open", "acknowledged") and r.alert_type == "stockout_predicted"
    }
    per_key = Counter((r.store_id, r.product_id, r.alert_type) for r in rows)
    duplicated = sum(n - 1 for n in per_key.values()) + sum(int(n) - 1 for _, n in created)
    lost = [key for key in expected.alerts if key not in active]
    problems = []
    unexpected = [key for key in active if key not in expected.alerts]
    wrong = [k for k, s in active.items() if k in expected.alerts and expected.alerts[k] != s]
    if unexpected:
        problems.append(f"{len(unexpected)} alert(s) the floor does not expect")
    if wrong:
        problems.append(f"{len(wrong)} alert(s) with another severity than the floor's")
    if parked:
        problems.append(f"{parked} message(s) parked as dead letters")

    ids = {r.id for r in rows}
    recipient = RECIPIENT.format(customer=customer)
    accepted = Counter(
        (int(r.json["custom_args"]["alert_id"]), _recipient(r.json))
        for r in accepted_requests
        if int(r.json["custom_args"].get("alert_id", 0)) in ids
    )
    critical_ids = {
        r.id
        for r in rows
        if (r.store_id, r.product_id) in expected.alerts
        and expected.alerts[(r.store_id, r.product_id)] == CRITICAL
    }
    # Mails of lost alerts are missing too; they are counted as lost alerts, not here.
    missing = sum(1 for i in critical_ids if (i, recipient) not in accepted)
    if missing:
        problems.append(f"{missing} critical alert(s) found but never mailed")
    if failed:
        problems.append(f"{failed} deliverie(s) failed")
    return Tally(
        alerts_expected=len(expected.alerts),
        found=len(active),
        lost=len(lost),
        duplicated=duplicated,
        emails_expected=expected.critical,
        sent=len(accepted),
        sent_twice=sum(1 for n in accepted.values() if n > 1),
        problems=problems,
    )


def _recipient(payload: dict) -> str:
    return str(payload["personalizations"][0]["to"][0]["email"])
