"""Episode 05 runs the way its README says."""

from __future__ import annotations

from pathlib import Path

from flowtests import end_artifact

EPISODE = Path(__file__).resolve().parents[2] / "tutorials" / "05-robust"


def test_tutorial_05_robust(run_flow):
    flow = EPISODE / "robust.py"
    result = run_flow(flow, "run")
    assert result.returncode == 0, result.output
    assert result.stderr.count("retrying in 0 s") == 2
    assert "downloaded 100 rows on attempt 2" in result.stdout
    assert "model: 49.5" in result.stdout
    store = run_flow.store("RobustTutorialFlow")
    [start] = store.tasks("1", "start")
    assert store.attempts("1", "start", start) == [0, 1, 2]

    hung = run_flow(flow, "run", HANG="1")
    assert hung.returncode == 0, hung.output
    assert "training failed: TaskTimeout: the task timed out after 2 s" in hung.stdout
    assert "timed out" in str(end_artifact(store, "2", "train_error"))
