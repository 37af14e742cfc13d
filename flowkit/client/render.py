"""How client objects look: sizes, times and durations for people, text and HTML tables.

Used by the objects' ``repr`` and ``_repr_html_`` and by the inspection commands, so a notebook
and a terminal show the same figures.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def when(timestamp: float | None) -> datetime | None:
    """Seconds since the epoch as a timezone-aware datetime in local time (``None`` stays)."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).astimezone()


def fmt_size(size: int | None) -> str:
    """``1234`` -> ``"1.2 KiB"``."""
    if size is None:
        return ""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def fmt_time(moment: datetime | None) -> str:
    """A local time to the second, e.g. ``"2024-05-01 10:00:03"`` (``""`` for ``None``)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else ""


def fmt_duration(seconds: float | None) -> str:
    """``0.213`` -> ``"0.21 s"``, ``125`` -> ``"2 min 05 s"`` (``""`` for ``None``)."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def short_type(type_name: str) -> str:
    """``"builtins.dict"`` -> ``"dict"``; other qualified names are kept whole."""
    return type_name.removeprefix("builtins.")


def shorten(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def text_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], indent: str = "") -> str:
    """Rows as aligned columns under upper-case headers, for terminals."""
    cells = [[str(h).upper() for h in headers]] + [
        ["" if c is None else str(c) for c in r] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    ]
    return "\n".join(line.rstrip() for line in lines)


def html_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Rows as an HTML table (every cell escaped)."""
    head = "".join(f"<th style='text-align:left'>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td style='text-align:left'>{html.escape('' if c is None else str(c))}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_card(title: str, fields: Sequence[tuple[str, Any]], *sections: tuple[str, str]) -> str:
    """A titled block: ``fields`` as a definition list, then ``(heading, html)`` sections."""
    items = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
        f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
        for k, v in fields
        if v not in (None, "")
    )
    parts = [f"<div><strong>{html.escape(title)}</strong><table>{items}</table>"]
    for heading, body in sections:
        parts.append(f"<div><em>{html.escape(heading)}</em></div>{body}")
    parts.append("</div>")
    return "".join(parts)
