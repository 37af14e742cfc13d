"""Datasets read, from catalog lineage (``task.lineage``), in a diff.

The catalog records lineage in the task's record; until it lands here, the client ``Task`` is
given a ``lineage`` property that reports what a real catalog load would, built from the
task's own artifacts, so the diff's handling is tested against real runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flowtests import SHAPE_CASES

from flowkit.client import Task

LINEAR = SHAPE_CASES["linear"].file


def _lineage(task: Task) -> list[dict[str, Any]]:
    if task.parent.id != "b":
        return []
    alpha = task.data.alpha  # stands for the data the step read: it changes with the parameter
    return [
        {
            "dataset": "orders",
            "type": "csv",
            "location": "data/orders.csv",
            "profile": "local",
            "content_hash": str(alpha) * 64,
            "rows": 10 * alpha,
            "schema_hash": "f" * 64,
            "snapshot": None,
            "mode": "load",
        }
    ]


@pytest.fixture
def lineage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Task, "lineage", property(_lineage), raising=False)


def test_datasets_read_are_compared(lineage: None, run_and_open) -> None:
    first, same, other = (
        run_and_open(LINEAR),
        run_and_open(LINEAR),
        run_and_open(LINEAR, "--alpha", "3"),
    )
    equal = first.diff(same)
    [orders] = equal.datasets
    assert (orders.step, orders.dataset, orders.mode, orders.status) == (
        "b",
        "orders",
        "load",
        "equal",
    )
    assert equal.equal

    diff = first.diff(other)
    [orders] = diff.datasets
    assert orders.status == "different" and orders.changed == ("content_hash", "rows")
    assert orders.a is not None and orders.a["rows"] == 20
    text = str(diff)
    assert "Datasets: 1 of 1 differ" in text
    assert "~ b: orders (load): content_hash 222222222222 -> 333333333333, rows 20 -> 30" in text
    assert "<td style='text-align:left'>content_hash, rows</td>" in diff._repr_html_()


def test_runs_without_lineage_have_no_datasets(run_and_open, tmp_path: Path) -> None:
    diff = run_and_open(LINEAR).diff(run_and_open(LINEAR))
    assert diff.datasets == [] and "Datasets" not in str(diff)
