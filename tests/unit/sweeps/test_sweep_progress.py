"""The sweep's progress line and summary: what a person sees while a sweep runs."""

from __future__ import annotations

from shelfops_alerts.cli.sweep import BAR_WIDTH, progress_line
from shelfops_alerts.sweeps.runs import format_sweep


def test_progress_line_shows_count_share_rate_and_eta():
    # Given 4,000 of 10,000 SKUs checked in 2 seconds
    line = progress_line(4000, 10000, 2.0)
    # Then the bar is 40 % full, the rate is 2,000/s and 6,000 SKUs remain: 3 s
    assert line.startswith("[" + "#" * 12 + "." * (BAR_WIDTH - 12) + "]")
    assert "4,000/10,000 SKUs" in line
    assert " 40.0%" in line and "2,000/s" in line and line.endswith("ETA 3s")


def test_progress_line_before_any_progress_and_when_done():
    # Given nothing checked yet, then everything checked, then an empty sweep
    # Then there is no ETA to promise, and a finished or empty sweep shows a full bar
    assert progress_line(0, 500, 0.0).endswith("0/s  ETA -")
    assert progress_line(500, 500, 1.0).startswith("[" + "#" * BAR_WIDTH + "]")
    assert "0/0 SKUs  100.0%" in progress_line(0, 0, 1.0)


def test_format_sweep_summarises_counts_and_duration():
    # Given a finished sweep of one customer
    sweep = {
        "id": 7,
        "customer_id": "acme",
        "status": "finished",
        "skus_checked": 1000,
        "skus_total": 1000,
        "batches_done": 2,
        "batches_queued": 2,
        "batches_failed": 0,
        "duration_s": 1.25,
        "started_at": "2026-11-26T10:00:00+00:00",
        "alerts_created": 12,
        "alerts_updated": 3,
        "alerts_escalated": 1,
        "alerts_resolved": 4,
    }
    # When it is formatted
    text = format_sweep(sweep)
    # Then a person reads what it did, for whom, and how long it took
    assert text.startswith("sweep #7 (acme) finished: 1,000 of 1,000 SKUs checked, 2/2 batches")
    assert "in 1.2 s" in text or "in 1.3 s" in text
    assert text.endswith("12 created, 3 updated, 1 escalated, 4 resolved")
