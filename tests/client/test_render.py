"""How sizes, times, durations and tables look."""

from __future__ import annotations

from datetime import datetime

import pytest

from flowkit.client.render import (
    fmt_duration,
    fmt_size,
    fmt_time,
    html_card,
    html_table,
    short_type,
    shorten,
    text_table,
    when,
)


@pytest.mark.parametrize(
    ("size", "text"),
    [(None, ""), (0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (32 << 20, "32.0 MiB")],
)
def test_fmt_size(size, text):
    assert fmt_size(size) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, ""), (0.213, "0.21 s"), (12.34, "12.3 s"), (125, "2 min 05 s"), (7380, "2 h 03 min")],
)
def test_fmt_duration(seconds, text):
    assert fmt_duration(seconds) == text


def test_times():
    moment = when(0.0)
    assert isinstance(moment, datetime) and moment.tzinfo is not None
    assert when(None) is None and fmt_time(None) == ""
    assert len(fmt_time(moment)) == len("1970-01-01 00:00:00")


def test_names_and_text():
    assert short_type("builtins.dict") == "dict"
    assert short_type("numpy.ndarray") == "numpy.ndarray"
    assert shorten("a\n  b", 10) == "a b"
    assert shorten("x" * 20, 10) == "xxxxxxx..."


def test_tables():
    text = text_table(("name", "size"), [("a", 1), ("long name", None)], indent="  ")
    assert text.splitlines() == ["  NAME       SIZE", "  a          1", "  long name"]
    html = html_table(("a",), [("<b>",)])
    assert "&lt;b&gt;" in html and "<b>" not in html
    card = html_card("T <x>", [("k", "v"), ("empty", None)], ("sec", "<p>body</p>"))
    assert "T &lt;x&gt;" in card and "empty" not in card and "<p>body</p>" in card
