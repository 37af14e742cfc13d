"""How a run reads to a person: its parameters as values, a step's outputs in words, and the
card a notebook shows for it (``Run._repr_html_``)."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from flowkit.client.render import (
    fmt_duration,
    fmt_size,
    fmt_time,
    html_card,
    html_table,
    short_type,
    when,
)
from flowkit.client.summary import StepSummary
from flowkit.datastore.manifest import RunRecord

if TYPE_CHECKING:
    from flowkit.client.run import Run


def run_card_html(run: Run, record: RunRecord) -> str:
    """The HTML card of ``run`` (its record, then one row per step), for notebooks.

    Args:
        run: The run.
        record: Its current record.
    """
    fields = [
        ("status", run.status),
        ("started", fmt_time(run.created_at)),
        ("finished", fmt_time(run.finished_at)),
        ("duration", fmt_duration(run.duration)),
        ("user", record.user),
        ("tags", ", ".join(sorted(run.tags))),
        ("parameters", ", ".join(f"{k}={v}" for k, v in record.parameter_values.items())),
        ("resumed from", run.origin_pathspec),
    ]
    rows = [
        (
            s.step,
            len(s.tasks),
            s.status,
            fmt_time(when(s.started_at)),
            fmt_duration(s.duration),
            describe_produced(s),
        )
        for s in run.step_summaries()
    ]
    headers = ("step", "tasks", "status", "started", "duration", "artifacts")
    return html_card(f"Run {run.pathspec}", fields, ("steps", html_table(headers, rows)))


def describe_produced(summary: StepSummary) -> str:
    """``"model (dict, 1.2 KiB), score (float, 84 B)"`` for the artifacts a step produced."""
    return ", ".join(
        f"{name} ({short_type(type_name)}, {fmt_size(size)})"
        for name, (type_name, size) in sorted(summary.produced.items())
    )


def parameter_values(record: RunRecord) -> dict[str, Any]:
    """The run's parameters from the record's printable form, without reading a blob.

    Numbers, strings, lists and dicts are turned back into values; anything else stays text.
    """
    values = {}
    for name, printable in record.parameter_values.items():
        try:
            values[name] = ast.literal_eval(printable)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            values[name] = printable
    return values
