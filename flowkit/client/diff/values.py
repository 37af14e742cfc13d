"""Typed summaries of how one artifact's value changed between two runs.

Numbers give their delta; numpy arrays, pandas DataFrames and Series their shape, dtypes and
summary statistics (and, when the shapes agree, how many elements differ); anything else a
shortened ``repr``. A summary is a JSON-ready dict whose ``"kind"`` says which of these it is;
:func:`describe` turns it into one line of text.
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import Any

#: Characters of a ``repr`` kept in a summary.
REPR_WIDTH = 200
#: Columns of a DataFrame whose statistics a summary keeps.
MAX_COLUMNS = 20


def summarize_change(a: Any, b: Any) -> dict[str, Any]:
    """A JSON-ready summary of how ``a`` (run a's value) became ``b`` (run b's).

    numpy and pandas are never imported here: a value of theirs was unpickled, so its module
    is already loaded (``sys.modules``).
    """
    np = sys.modules.get("numpy")
    pd = sys.modules.get("pandas")
    if type(a) is not type(b):
        return {"kind": "type", "a": _brief(a), "b": _brief(b)}
    if isinstance(a, numbers.Real) and not isinstance(a, bool):
        return _numbers(a, b)
    if np is not None and isinstance(a, np.ndarray):
        return _arrays(np, a, b)
    if pd is not None and isinstance(a, pd.DataFrame):
        return _frames(np, a, b)
    if pd is not None and isinstance(a, pd.Series):
        return {"kind": "series", "a": _series_stats(a), "b": _series_stats(b)}
    return {"kind": "repr", "a": short_repr(a), "b": short_repr(b)}


def short_repr(value: Any, width: int = REPR_WIDTH) -> str:
    """``repr(value)`` on one line, cut to ``width`` characters."""
    try:
        text = repr(value)
    except Exception as exc:  # a user's __repr__ may raise anything; the diff must go on
        text = f"<{type(value).__name__}: repr failed: {exc}>"
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def _brief(value: Any) -> dict[str, str]:
    return {"type": _type_name(value), "repr": short_repr(value, 80)}


def _type_name(value: Any) -> str:
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (for JSON)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _numbers(a: Any, b: Any) -> dict[str, Any]:
    a, b = _plain(a), _plain(b)
    delta = b - a
    relative = delta / abs(a) if a and math.isfinite(a) else None
    return {"kind": "number", "a": a, "b": b, "delta": delta, "relative": relative}


def _array_stats(np: Any, array: Any) -> dict[str, Any]:
    stats: dict[str, Any] = {"shape": list(array.shape), "dtype": str(array.dtype)}
    if array.size and (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        values = array.astype(float)
        finite = values[np.isfinite(values)]
        stats["nan"] = int(np.isnan(values).sum())
        if finite.size:
            stats.update(
                min=float(finite.min()),
                max=float(finite.max()),
                mean=float(finite.mean()),
                std=float(finite.std()),
            )
    return stats


def _arrays(np: Any, a: Any, b: Any) -> dict[str, Any]:
    summary: dict[str, Any] = {"kind": "array", "a": _array_stats(np, a), "b": _array_stats(np, b)}
    if a.shape == b.shape and a.dtype == b.dtype:
        try:
            unequal = ~((a == b) | (_isnan(np, a) & _isnan(np, b)))
            summary["elements_different"] = int(np.count_nonzero(unequal))
            if np.issubdtype(a.dtype, np.number) and a.size:
                diff = np.abs(a.astype(float) - b.astype(float))
                summary["max_abs_difference"] = float(np.nanmax(diff)) if diff.size else 0.0
        except (TypeError, ValueError):  # object arrays whose elements do not compare
            pass
    return summary


def _isnan(np: Any, array: Any) -> Any:
    if np.issubdtype(array.dtype, np.floating):
        return np.isnan(array)
    return np.zeros(array.shape, dtype=bool)


def _column_stats(series: Any) -> dict[str, float] | None:
    """Mean, std, min and max of a numeric column (``None`` for other columns)."""
    kind = getattr(series.dtype, "kind", "")
    if kind not in "iufb" or not len(series):
        return None
    values = series.astype(float)
    return {
        "mean": float(values.mean()),
        "std": float(values.std()) if len(values) > 1 else 0.0,
        "min": float(values.min()),
        "max": float(values.max()),
    }


def _series_stats(series: Any) -> dict[str, Any]:
    stats: dict[str, Any] = {
        "shape": list(series.shape),
        "dtype": str(series.dtype),
        "name": None if series.name is None else str(series.name),
        "nulls": int(series.isna().sum()),
    }
    numeric = _column_stats(series)
    if numeric:
        stats.update(numeric)
    return stats


def _frame_stats(frame: Any) -> dict[str, Any]:
    columns = [str(c) for c in frame.columns]
    stats: dict[str, Any] = {
        "shape": list(frame.shape),
        "dtypes": {str(c): str(t) for c, t in list(frame.dtypes.items())[:MAX_COLUMNS]},
        "nulls": int(frame.isna().sum().sum()),
        "columns": {},
    }
    for name, column in list(frame.items())[:MAX_COLUMNS]:
        numeric = _column_stats(column)
        if numeric:
            stats["columns"][str(name)] = numeric
    if len(columns) > MAX_COLUMNS:
        stats["more_columns"] = len(columns) - MAX_COLUMNS
    return stats


def _frames(np: Any, a: Any, b: Any) -> dict[str, Any]:
    cols_a, cols_b = [str(c) for c in a.columns], [str(c) for c in b.columns]
    dtypes_a = {str(c): str(t) for c, t in a.dtypes.items()}
    dtypes_b = {str(c): str(t) for c, t in b.dtypes.items()}
    summary: dict[str, Any] = {
        "kind": "dataframe",
        "a": _frame_stats(a),
        "b": _frame_stats(b),
        "columns_added": [c for c in cols_b if c not in dtypes_a],
        "columns_removed": [c for c in cols_a if c not in dtypes_b],
        "dtype_changes": {
            c: [dtypes_a[c], dtypes_b[c]]
            for c in cols_a
            if c in dtypes_b and dtypes_a[c] != dtypes_b[c]
        },
    }
    if a.shape == b.shape and cols_a == cols_b and a.index.equals(b.index):
        try:
            unequal = a.ne(b) & ~(a.isna() & b.isna())
            summary["cells_different"] = int(unequal.to_numpy().sum())
        except (TypeError, ValueError):  # columns whose values do not compare
            pass
    return summary


# -- one line of text --------------------------------------------------------------------


def describe(summary: dict[str, Any] | None) -> str:
    """One line for people: ``"0.81 -> 0.84 (delta +0.03, +3.7%)"``, ``"shape (3,) -> (4,)"``."""
    if not summary:
        return ""
    kind = summary.get("kind")
    if kind == "number":
        text = f"{_num(summary['a'])} -> {_num(summary['b'])} (delta {_num(summary['delta'], '+')}"
        if summary.get("relative") is not None:
            text += f", {summary['relative'] * 100:+.3g}%"
        return text + ")"
    if kind == "array":
        return _describe_array(summary)
    if kind == "dataframe":
        return _describe_frame(summary)
    if kind == "series":
        return _describe_stats(summary["a"], summary["b"], "dtype")
    if kind == "type":
        a, b = summary["a"], summary["b"]
        return f"type {a['type']} -> {b['type']}: {a['repr']} -> {b['repr']}"
    if kind == "repr":
        return f"{_cut(summary['a'])} -> {_cut(summary['b'])}"
    return str(summary.get("reason", ""))


def _cut(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _num(value: Any, sign: str = "") -> str:
    if isinstance(value, float):
        return f"{value:{sign}.6g}"
    return f"{value:{sign}}" if isinstance(value, int) else str(value)


def _shape(shape: list[int]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _stat_changes(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    return [
        f"{prefix}{key} {_num(a.get(key))} -> {_num(b.get(key))}"
        for key in ("mean", "std", "min", "max")
        if (key in a or key in b) and a.get(key) != b.get(key)
    ]


def _describe_stats(a: dict[str, Any], b: dict[str, Any], dtype_key: str) -> str:
    parts = [f"shape {_shape(a['shape'])} -> {_shape(b['shape'])}"]
    if a[dtype_key] != b[dtype_key]:
        parts.append(f"dtype {a[dtype_key]} -> {b[dtype_key]}")
    else:
        parts.append(f"dtype {a[dtype_key]}")
    parts += _stat_changes(a, b)
    return "; ".join(parts)


def _describe_array(summary: dict[str, Any]) -> str:
    text = _describe_stats(summary["a"], summary["b"], "dtype")
    if "elements_different" in summary:
        text += f"; {summary['elements_different']} elements differ"
    if "max_abs_difference" in summary:
        text += f" (max |a-b| {_num(summary['max_abs_difference'])})"
    return text


def _describe_frame(summary: dict[str, Any]) -> str:
    a, b = summary["a"], summary["b"]
    parts = [f"shape {_shape(a['shape'])} -> {_shape(b['shape'])}"]
    if summary["columns_added"]:
        parts.append("columns added: " + ", ".join(summary["columns_added"]))
    if summary["columns_removed"]:
        parts.append("columns removed: " + ", ".join(summary["columns_removed"]))
    for column, (old, new) in summary["dtype_changes"].items():
        parts.append(f"dtype of {column} {old} -> {new}")
    for column, stats in a["columns"].items():
        other = b["columns"].get(column)
        if other:
            parts += _stat_changes(stats, other, f"{column} ")[:2]
    if "cells_different" in summary:
        parts.append(f"{summary['cells_different']} cells differ")
    return "; ".join(parts)
