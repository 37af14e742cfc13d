"""Episode 11 runs the way its README says: train, register, promote, retrain, roll back."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from flowtests import FlowRunner

EPISODE = Path(__file__).resolve().parents[2] / "tutorials" / "11-registry"
FLOWKIT = [sys.executable, "-c", "from flowkit.cli.main import main; main()"]


def _run(run_flow: FlowRunner, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        list(args), cwd=run_flow.cwd, env=run_flow.env, capture_output=True, text=True
    )
    return done


def test_tutorial_11_registry(run_flow: FlowRunner) -> None:
    train, predict = EPISODE / "train.py", EPISODE / "predict.py"
    first = run_flow(train, "run")
    assert first.returncode == 0, first.stderr
    assert "registered churn@v1 (sq_error=0)" in first.stdout
    promote = [*FLOWKIT, "registry", "promote", "churn"]
    assert _run(run_flow, *promote, "v1", "--alias", "champion", "--expect", "none").returncode == 0
    used = _run(run_flow, sys.executable, str(predict))
    assert "champion is churn@v1, made by ChurnTrainFlow/1/train/" in used.stdout
    assert "prediction for x=10: 20" in used.stdout

    second = run_flow(train, "run", "--noise", "0.5")
    assert "registered churn@v2 (sq_error=3.5)" in second.stdout
    assert _run(run_flow, *promote, "v2", "--alias", "champion", "--expect", "v1").returncode == 0
    assert "prediction for x=10: 25" in _run(run_flow, sys.executable, str(predict)).stdout

    back = _run(
        run_flow,
        *FLOWKIT,
        "registry",
        "rollback",
        "churn@champion",
        "--note",
        "v2 predicts too high",
    )
    assert back.returncode == 0, back.stderr
    assert "champion is churn@v1" in _run(run_flow, sys.executable, str(predict)).stdout
    history = _run(run_flow, *FLOWKIT, "registry", "history", "churn@champion").stdout
    moves = history.strip().splitlines()
    assert [re.search(r"churn@champion: \S+ -> v\d", line)[0] for line in moves] == [
        "churn@champion: - -> v1",
        "churn@champion: v1 -> v2",
        "churn@champion: v2 -> v1",
    ]
    assert "rollback by" in moves[2] and "(v2 predicts too high)" in moves[2]
    shown = _run(run_flow, *FLOWKIT, "registry", "show", "churn@v2").stdout
    assert "parameters:  noise=0.5" in shown and "sq_error=3.5" in shown

    diff = _run(run_flow, *FLOWKIT, "diff", "ChurnTrainFlow/1", "ChurnTrainFlow/2")
    assert diff.returncode == 1 and "noise" in diff.stdout and "train" in diff.stdout
    again = _run(run_flow, *FLOWKIT, "registry", "reproduce", "churn@champion")
    assert again.returncode == 0, again.stdout + again.stderr

    # "What to look at afterwards": a stale --expect fails, naming where the alias is
    stale = _run(run_flow, *promote, "v2", "--alias", "champion", "--expect", "v2")
    assert stale.returncode == 3 and "points to v1, not v2" in stale.stderr
    typo = _run(run_flow, *FLOWKIT, "registry", "show", "chrun")
    assert typo.returncode != 0 and 'Did you mean "churn"?' in typo.stderr
