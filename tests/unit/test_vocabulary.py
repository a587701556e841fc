"""The domain's words: one order of severities, and SQL built from it."""

from __future__ import annotations

import pytest

from shelfops_alerts import vocabulary as v


def test_severities_rise_from_low_to_critical():
    assert (
        v.SEVERITIES
        == (v.LOW, v.MEDIUM, v.HIGH, v.CRITICAL)
        == ("low", "medium", "high", "critical")
    )


def test_sql_reads_the_words_and_their_order_from_the_one_definition():
    assert v.sql_list(v.ACTIVE_STATUSES) == "'open', 'acknowledged'"
    assert v.sql_word(v.SENDING) == "'sending'"
    assert v.sql_severity_rank("h.severity") == (
        "array_position(ARRAY['low', 'medium', 'high', 'critical']::text[], h.severity)"
    )
    # Anything that is not a plain word is refused rather than quoted into SQL
    with pytest.raises(ValueError, match="not a vocabulary word"):
        v.sql_list(["open'; DROP TABLE alerts; --"])
