"""pandas DataFrames of runs and tasks; pandas is imported only when a frame is asked for.

Times are timezone-aware UTC timestamps, durations are seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

_TIMES = ("created_at", "started_at", "finished_at")


def runs_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Runs, indexed by run id (newest first, as given)."""
    return _frame(rows, "run_id", ("run_id", "status", "created_at", "finished_at", "duration_s"))


def tasks_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Tasks, indexed by pathspec (in the order given)."""
    columns = ("pathspec", "step", "task_id", "index", "status", "attempt", "started_at")
    return _frame(rows, "pathspec", columns)


def _frame(rows: list[dict[str, Any]], index: str, columns: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(columns))
    for column in _TIMES:
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    return frame.set_index(index)
