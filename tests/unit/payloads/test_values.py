"""The plain-value rules every input shares: ids, text, numbers, bounded JSON."""

from __future__ import annotations

import math

import pytest

from shelfops_alerts.payloads.values import (
    check_id,
    check_json,
    check_number,
    check_text,
    check_whole,
    shown,
)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "store_id must not be empty"),
        ("   ", "store_id must not be empty"),
        (None, "store_id must be text, got None"),
        (7, "store_id must be text, got 7"),
        ("s\x00", "store_id must not contain control characters, got 's\\x00'"),
        ("s\t1", "store_id must not contain control characters"),
        ("s\x7f", "store_id must not contain control characters"),
        ("s\ud800", "store_id is not valid UTF-8 text"),
        ("s" * 65, "store_id must be at most 64 characters, got 65"),
    ],
)
def test_an_id_is_short_text_without_control_characters(value, reason):
    with pytest.raises(ValueError) as refused:
        check_id("store_id", value)
    assert str(refused.value).startswith(reason)


def test_an_id_is_stripped_and_may_hold_any_printable_text():
    assert check_id("store_id", "  Zürich #1/β  ") == "Zürich #1/β"
    assert check_id("store_id", "s" * 64) == "s" * 64


def test_prose_allows_line_breaks_but_not_nul():
    assert check_text("message", "two\nlines\tand a tab", max_length=50, prose=True)
    with pytest.raises(ValueError, match="control characters"):
        check_text("message", "nul\x00", max_length=50, prose=True)
    with pytest.raises(ValueError, match="control characters"):
        check_text("name", "two\nlines", max_length=50)


@pytest.mark.parametrize("value", [True, 1.5, "3", None])
def test_a_whole_number_is_an_int_and_nothing_else(value):
    with pytest.raises(ValueError, match="must be a whole number"):
        check_whole("id", value)


def test_a_whole_number_is_within_its_bounds():
    assert check_whole("id", 5, minimum=1, maximum=5) == 5
    with pytest.raises(ValueError, match="from 1 to 5, got 6"):
        check_whole("id", 6, minimum=1, maximum=5)
    with pytest.raises(ValueError, match=">= 1, got 0"):
        check_whole("id", 0, minimum=1)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_numbers_are_finite(value):
    with pytest.raises(ValueError, match="finite"):
        check_number("x", value)
    assert check_number("x", -2.5) == -2.5


def test_json_is_plain_and_bounded():
    good = {"a": 1, "b": [1.5, "two", None, True], "c": {"d": {"e": "deep"}}}
    assert check_json("m", good, max_chars=100, max_depth=4, max_items=20) is good
    # Then each way out of bounds is named
    cases = [
        ({"a": math.inf}, "m.a must be a finite number"),
        ({"a": 10**400}, "m.a must be at most 9007199254740991 either way"),
        ({"a": [-(2**53)]}, "m.a[0] must be at most"),
        ({"a": "nul\x00"}, "m.a must not contain control characters"),
        ({"k\x00": 1}, "a key of m must not contain control characters"),
        ({1: 1}, "a key of m must be text"),
        ({"a": {1, 2}}, "m.a must be plain JSON, got set"),
        ({"a": {"b": {"c": {"d": 1}}}}, "m.a.b.c is nested deeper than 3 levels"),
        ({"a": "x" * 101}, "m.a must be at most 100 characters"),
        ({"a": "x" * 60, "b": "x" * 60}, "m is too large"),
        ({"a": list(range(30))}, "m is too large"),
    ]
    for value, reason in cases:
        with pytest.raises(ValueError) as refused:
            check_json("m", value, max_chars=100, max_depth=3, max_items=20)
        assert reason in str(refused.value), (value, refused.value)


def test_a_quoted_value_is_cut_short():
    assert shown("x" * 1000).endswith("…") and len(shown("x" * 1000)) == 80
    assert shown("short") == "'short'"


def test_the_quick_look_and_the_walk_agree():
    # The quick look accepts only what the walk accepts; on doubt the walk decides.
    fine = [
        {},
        {"a": None, "b": True, "c": -1, "d": 2.5, "e": "text\nline"},
        {"late_arrival": {"in_days": 2, "quantity": 10.0}, "list": [1, [2, [3]]]},
        {"k" * 64: "x" * 40},
    ]
    for value in fine:
        assert check_json("m", value, max_chars=200, max_depth=4, max_items=20) is value
    doubtful = [{"k" * 65: 1}, {"a": "\ud800"}, {"a": [[[[1]]]]}, {"a": 2**60}, {"a": b"x"}]
    for value in doubtful:
        with pytest.raises(ValueError):
            check_json("m", value, max_chars=200, max_depth=4, max_items=20)


def test_an_object_of_plain_values_is_judged_like_any_other():
    # Given flat objects (as a finding's metadata is), fine and not, in and outside ASCII
    fine = [
        {"a": "café ☕", "b": "tab\there", "ключ": 1.5, "n": None, "t": False},
        {f"k{n}": True for n in range(19)},  # 20 values with the object itself
    ]
    refused = [
        {"a": "del\x7f"},
        {"a\ud800": 1},
        {"a": "\udfff"},
        {"a": "bell\x07"},
        {"a\t": 1},
        {"a": math.nan},
        {"a": -(2**53)},
        {f"k{n}": True for n in range(20)},  # 21 values
        {"a": "é" * 201},
    ]
    # Then each is accepted or refused as the walk value by value decides
    for value in fine:
        assert check_json("m", value, max_chars=200, max_depth=4, max_items=20) is value
    for value in refused:
        with pytest.raises(ValueError):
            check_json("m", value, max_chars=200, max_depth=4, max_items=20)
