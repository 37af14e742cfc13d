"""Episode 04 runs the way its README says: fail, fix, resume."""

from __future__ import annotations

from pathlib import Path

from flowtests import end_artifact

EPISODE = Path(__file__).resolve().parents[2] / "tutorials" / "04-resume"


def test_tutorial_04_resume(run_flow):
    flow = EPISODE / "train.py"
    failed = run_flow(flow, "run", "--max-workers", "4")
    assert failed.returncode == 1
    assert "model c diverged" in failed.stderr
    assert "04-resume/train.py resume" in failed.stderr
    resumed = run_flow(flow, "resume", FIXED="1")
    assert resumed.returncode == 0, resumed.output
    assert "resuming ResumeTutorialFlow/1" in resumed.stderr
    assert "3 tasks ran, 4 cloned" in resumed.stderr
    assert "best model: c (resumed from run 1)" in resumed.stdout
    assert end_artifact(run_flow.store("ResumeTutorialFlow"), "2", "best") == "c"
