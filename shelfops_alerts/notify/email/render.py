"""Turn one alert change (the JSON published on ``alerts:{customer_id}``) into an e-mail.

Rendering is separate from sending: this module knows templates, not providers. The wording
lives in ``templates/alert_email_subject.txt``, ``alert_email.txt`` and ``alert_email.html``
(and ``digest_email*`` for a digest listing several changes); here the alert's values are
made safe and readable for them:

* every value a template reads is present (a missing one reads ``n/a``), so the templates can
  run under ``StrictUndefined`` and a typo in them fails loudly instead of printing nothing;
* one-line values (ids, severity, type) have control characters and line breaks folded into
  spaces, so an id cannot forge lines in the body or headers in the subject;
* HTML is autoescaped by Jinja2; the plain-text templates are not escaped (they are not HTML).
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shelfops_alerts.vocabulary import CRITICAL, HIGH, LOW, MEDIUM, SEVERITIES, STOCKOUT_PREDICTED

#: Longest subject we send; mail clients cut far earlier, and providers reject very long ones.
MAX_SUBJECT_LENGTH = 200
#: What a template shows for a value the alert does not carry.
MISSING = "n/a"
#: Badge colour per severity in the HTML body (unknown severities are grey).
SEVERITY_COLORS = {
    LOW: "#607d8b",
    MEDIUM: "#f9a825",
    HIGH: "#ef6c00",
    CRITICAL: "#c62828",
}


@dataclass(frozen=True)
class RenderedEmail:
    """An e-mail's three renderings; the subject is one line of printable text."""

    subject: str
    text: str
    html: str


def render_alert_email(
    alert: Mapping[str, Any], *, templates_dir: Path, dashboard_url: str
) -> RenderedEmail:
    """Render the subject, plain-text and HTML body of the e-mail for one alert change.

    ``alert`` is the plain dict published for an alert change; only ``alert_id`` is required.
    Raises ValueError when ``alert_id`` is missing or not a whole number.
    """
    context = alert_context(alert, dashboard_url=dashboard_url)
    env = _environment(Path(templates_dir))
    subject = env.get_template("alert_email_subject.txt").render(context)
    return RenderedEmail(
        subject=clean_subject(subject),
        text=env.get_template("alert_email.txt").render(context),
        html=env.get_template("alert_email.html").render(context),
    )


def render_digest_email(
    alerts: Sequence[Mapping[str, Any]],
    *,
    customer_id: str,
    templates_dir: Path,
    dashboard_url: str,
    window_s: float,
) -> RenderedEmail:
    """Render one digest listing several alert changes (``digest_email*`` templates).

    Raises ValueError when ``alerts`` is empty or an alert lacks a whole-number ``alert_id``.
    """
    if not alerts:
        raise ValueError("a digest needs at least one alert")
    items = [alert_context(alert, dashboard_url=dashboard_url) for alert in alerts]
    counts = Counter(item["severity"] for item in items)
    # Worst first, to name the digest by it; unknown severities last.
    ranked = sorted(
        counts, key=lambda s: SEVERITIES.index(s) if s in SEVERITIES else -1, reverse=True
    )
    context = {
        "items": items,
        "count": len(items),
        "customer_id": one_line(customer_id),
        "top_severity_label": ranked[0].upper(),
        "severity_counts": [(s.upper(), counts[s]) for s in ranked],
        "stockouts": sum(1 for item in items if item["alert_type"] == STOCKOUT_PREDICTED),
        "dashboard_link": dashboard_url,
        "window": f"{window_s:g} s",
    }
    env = _environment(Path(templates_dir))
    subject = env.get_template("digest_email_subject.txt").render(context)
    return RenderedEmail(
        subject=clean_subject(subject),
        text=env.get_template("digest_email.txt").render(context),
        html=env.get_template("digest_email.html").render(context),
    )


def alert_context(alert: Mapping[str, Any], *, dashboard_url: str) -> dict[str, Any]:
    """The values the templates read, formatted for display."""
    try:
        alert_id = int(alert["alert_id"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"alert must carry a whole-number alert_id, got {alert!r:.200}") from None
    metadata = alert.get("metadata") or {}
    severity = one_line(alert.get("severity")).lower()
    alert_type = one_line(alert.get("alert_type"))
    return {
        "alert_id": alert_id,
        "customer_id": one_line(alert.get("customer_id")),
        "store_id": one_line(alert.get("store_id")),
        "product_id": one_line(alert.get("product_id")),
        "alert_type": alert_type,
        "alert_type_label": alert_type.replace("_", " ").capitalize(),
        "severity": severity,
        "severity_label": severity.upper(),
        "severity_color": SEVERITY_COLORS.get(severity, "#757575"),
        "status": one_line(alert.get("status")),
        "event": one_line(alert.get("event")),
        "message": multi_line(alert.get("message")),
        "created_at": one_line(alert.get("created_at")),
        "updated_at": one_line(alert.get("updated_at")),
        "current_stock": quantity(metadata.get("current_stock")),
        "on_order": quantity(metadata.get("on_order")),
        "daily_demand": quantity(metadata.get("daily_demand")),
        "days_until_stockout": quantity(metadata.get("days_until_stockout"), fixed=1),
        "reorder_point": quantity(metadata.get("reorder_point")),
        "recommended_quantity": quantity(metadata.get("recommended_quantity")),
        "recommendation": multi_line(metadata.get("recommendation")),
        "link": f"{dashboard_url.rstrip('/')}/{alert_id}",
    }


def one_line(value: Any) -> str:
    """``value`` as printable single-line text: control and format characters become spaces,
    runs of whitespace one space; None or blank becomes ``n/a``."""
    if value is None:
        return MISSING
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in str(value))
    return " ".join(text.split()) or MISSING


def multi_line(value: Any) -> str:
    """Like :func:`one_line`, but line breaks survive (normalised to ``\\n``)."""
    if value is None:
        return MISSING
    lines = [one_line(line) for line in str(value).splitlines()]
    text = "\n".join("" if line == MISSING else line for line in lines).strip()
    return text or MISSING


def quantity(value: Any, *, fixed: int | None = None) -> str:
    """A number for display: ``fixed`` decimals when given, else whole numbers bare and others
    with at most two decimals. Non-numbers are shown as one line of text."""
    if value is None or isinstance(value, bool):
        return MISSING
    if not isinstance(value, int | float):
        return one_line(value)
    if not math.isfinite(value):
        return MISSING
    if fixed is not None:
        return f"{value:.{fixed}f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def clean_subject(subject: str) -> str:
    """One printable line of at most :data:`MAX_SUBJECT_LENGTH` characters."""
    text = one_line(subject)
    if len(text) > MAX_SUBJECT_LENGTH:
        text = text[: MAX_SUBJECT_LENGTH - 1].rstrip() + "…"
    return text


@functools.lru_cache(maxsize=8)
def _environment(templates_dir: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
