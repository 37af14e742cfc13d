"""Episode 12 runs the way its README says: diff two runs, reproduce a run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flowtests import FlowRunner

EPISODE = Path(__file__).resolve().parents[2] / "tutorials" / "12-diff"
FLOWKIT = [sys.executable, "-c", "from flowkit.cli.main import main; main()"]


def _flowkit(runner: FlowRunner, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FLOWKIT, *args],
        cwd=runner.cwd,
        env=runner.env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_tutorial_12_diff(run_flow: FlowRunner) -> None:
    flow = EPISODE / "train.py"
    for args in ((), (), ("--alpha", "10")):
        result = run_flow(flow, "run", *args)
        assert result.returncode == 0, result.output
    assert "alpha 10.0: R squared 0.8321" in result.stdout

    equal = _flowkit(run_flow, "diff", "ChurnFlow/1", "2")
    assert equal.returncode == 0, equal.stderr
    assert "ChurnFlow/2 (b): equal" in equal.stdout

    changed = _flowkit(run_flow, "diff", "ChurnFlow/1", "3")
    assert changed.returncode == 1, changed.stderr
    out = changed.stdout
    assert "different; outputs first diverge at step train" in out
    assert "alpha: 1.0 -> 10.0" in out and "Code: equal" in out
    assert "= start: equal" in out
    assert "weights (numpy.ndarray): shape (3,) -> (3,); dtype float64" in out
    assert "3 elements differ" in out
    assert "score (float): 0.948 -> 0.8321 (delta -0.1159, -12.2%)" in out
    assert "predictions (pandas.DataFrame): shape (200, 1) -> (200, 1)" in out
    as_json = json.loads(_flowkit(run_flow, "diff", "ChurnFlow/1", "3", "--json").stdout)
    assert as_json["first_diverged_step"] == "train"

    same = _flowkit(run_flow, "reproduce", "ChurnFlow/3")
    assert same.returncode == 0, same.stderr
    assert "ChurnFlow/3 re-run as ChurnFlow/4 (succeeded): reproduced: outputs match" in same.stdout

    noisy = run_flow(flow, "run", "--jitter", "true")
    assert noisy.returncode == 0, noisy.output
    weights = _flowkit(run_flow, "reproduce", "ChurnFlow/5", "--artifact", "train.weights")
    assert weights.returncode == 1, weights.stderr
    assert "NOT reproduced" in weights.stdout and "first diverging step: train" in weights.stdout
    data = _flowkit(run_flow, "reproduce", "ChurnFlow/5", "--artifact", "start.data")
    assert data.returncode == 0, data.stderr

    tagged = _flowkit(run_flow, "runs", "ChurnFlow", "--tag", "reproduces:ChurnFlow/5", "--json")
    assert sorted(r["run_id"] for r in json.loads(tagged.stdout)) == ["6", "7"]

    # the notebook lines of the README
    code = (
        "from flowkit import Run\n"
        "diff = Run('ChurnFlow/1').diff(Run('ChurnFlow/3'))\n"
        "print(diff.first_diverged_step, diff.step('evaluate').artifacts['score'].summary['b'])\n"
        "print('first divergence' in diff._repr_html_())\n"
    )
    notebook = subprocess.run(
        [sys.executable, "-c", code],
        cwd=run_flow.cwd,
        env=run_flow.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert notebook.stdout.split() == ["train", "0.8321", "True"], notebook.stderr
