"""Typed summaries of a changed artifact: numbers, numpy arrays, pandas DataFrames and Series,
anything else by a shortened repr; and the same summaries in the diff of two real runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from flowkit.client.diff import describe, summarize_change

TYPED = Path(__file__).resolve().parents[1] / "flows" / "diff" / "typed.py"


def test_numbers_give_their_delta() -> None:
    summary = summarize_change(0.8, 0.84)
    assert summary["kind"] == "number" and round(summary["delta"], 9) == 0.04
    assert round(summary["relative"], 9) == 0.05
    assert describe(summary) == "0.8 -> 0.84 (delta +0.04, +5%)"
    assert summarize_change(0, 3)["relative"] is None  # no relative change from zero
    assert summarize_change(np.float64(1.5), np.float64(2.0))["delta"] == 0.5


def test_arrays_give_shape_dtype_statistics_and_elements_that_differ() -> None:
    a = np.array([[1.0, 2.0], [3.0, np.nan]])
    b = np.array([[1.0, 2.5], [3.0, np.nan]])
    summary = summarize_change(a, b)
    assert summary["a"]["shape"] == [2, 2] and summary["a"]["dtype"] == "float64"
    assert summary["a"]["nan"] == 1 and summary["a"]["max"] == 3.0
    assert summary["elements_different"] == 1  # NaN == NaN here
    assert summary["max_abs_difference"] == 0.5
    other = summarize_change(np.arange(3), np.arange(4.0))
    assert "elements_different" not in other
    assert describe(other).startswith("shape (3,) -> (4,); dtype int64 -> float64")


def test_dataframes_give_shape_dtypes_column_statistics_and_cells() -> None:
    a = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    b = pd.DataFrame({"x": [1.0, 2.0, 4.0], "z": [True, False, True]})
    summary = summarize_change(a, b)
    assert summary["kind"] == "dataframe"
    assert summary["columns_added"] == ["z"] and summary["columns_removed"] == ["y"]
    assert summary["dtype_changes"] == {"x": ["int64", "float64"]}
    assert summary["a"]["columns"]["x"]["mean"] == 2.0
    assert "cells_different" not in summary  # different columns: no cell-by-cell count
    text = describe(summary)
    assert "columns added: z" in text and "dtype of x int64 -> float64" in text
    same_shape = summarize_change(a, a.assign(x=[1, 2, 5]))
    assert same_shape["cells_different"] == 1


def test_series_and_other_values() -> None:
    series = summarize_change(pd.Series([1, 2]), pd.Series([1, 2, 3]))
    assert series["kind"] == "series" and series["b"]["shape"] == [3]
    long = summarize_change("x" * 1000, "y" * 1000)
    assert long["kind"] == "repr" and len(long["a"]) == 200 and long["a"].endswith("...")
    changed_type = summarize_change(1, "1")
    assert changed_type["kind"] == "type"
    assert describe(changed_type) == "type int -> str: 1 -> '1'"


def test_a_run_diff_summarizes_each_type(run_and_open) -> None:
    diff = run_and_open(TYPED).diff(run_and_open(TYPED, "--scale", "2"))
    start = diff.step("start").artifacts
    assert start["same"].status == "equal" and start["same"].summary is None
    kinds = {name: a.summary["kind"] for name, a in start.items() if a.summary}
    assert kinds == {
        "count": "number",
        "score": "number",
        "matrix": "array",
        "frame": "dataframe",
        "series": "series",
        "text": "repr",
    }
    assert start["count"].summary["delta"] == 10
    assert start["matrix"].summary["b"]["max"] == 10.0
    assert start["frame"].summary["cells_different"] == 6
    text = str(diff)
    assert "count (int): 10 -> 20 (delta +10, +100%)" in text
    assert "matrix (numpy.ndarray): shape (2, 3) -> (2, 3); dtype float64" in text
    assert "frame (pandas.DataFrame): shape (3, 2) -> (3, 2)" in text
    assert "carried over from an earlier step: count, frame, matrix" in text
