"""Episode 07 runs the way its README says, against the local fake AWS (tests/fakebatch.py)."""

from __future__ import annotations

from pathlib import Path

from flowtests import end_artifact

EPISODE = Path(__file__).resolve().parents[2] / "tutorials" / "07-batch"


def test_tutorial_07_batch(batch_flow):
    result = batch_flow(EPISODE / "scale.py", "run")
    assert result.returncode == 0, result.output
    assert "best fit: {'slope': 3.0, 'intercept': 1.0}" in result.stdout
    assert "Batch array job ScaleOutFlow-1-score-2-to-9-a0" in result.stderr
    assert "submitted 8 tasks" in result.stderr and "8 SUCCEEDED" in result.stderr
    assert "[1/score/6] ScaleOutFlow/1/score/6: a=3 b=1.00 error=0.0 (job " in result.stdout
    store = batch_flow.store("ScaleOutFlow")
    assert end_artifact(store, "1", "best") == {"slope": 3.0, "intercept": 1.0}
    [array] = [j for j in batch_flow.jobs("ScaleOutFlow-1-score") if ":" not in j["jobId"]]
    assert array["arrayProperties"]["size"] == 8
