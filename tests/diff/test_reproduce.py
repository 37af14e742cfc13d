"""Reproduce: a run's code snapshot re-run with its parameters in a fresh run, then diffed.

A deterministic flow (with an IncludeFile whose file is gone by then) reproduces exactly; a
flow drawing unseeded random numbers is caught at the step that draws them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from flowtests import FlowRunner

from flowkit.reproduce import ReproduceError, parse_artifact, reproduce_run

FLOWS = Path(__file__).resolve().parents[1] / "flows" / "diff"
FLOWKIT = [sys.executable, "-c", "from flowkit.cli.main import main; main()"]


def test_a_deterministic_run_reproduces(
    run_flow: FlowRunner, run_and_open, context, tmp_path
) -> None:
    words = tmp_path / "words.txt"
    words.write_text("ab\ncd\nef\n")
    original = run_and_open(FLOWS / "steady.py", "--words", str(words), "--factor", "3")
    words.unlink()  # the recorded contents are what counts
    assert original.datastore_root == f"file://{run_flow.root}"

    outcome = reproduce_run(original.pathspec, datastore_root=str(run_flow.root))
    assert outcome.matches and outcome.status == "succeeded"
    assert outcome.first_diverged_step is None
    assert outcome.new_run != original.pathspec and outcome.new_run.startswith("SteadyFlow/")
    assert outcome.diff.equal, str(outcome.diff)
    assert "reproduced: outputs match" in str(outcome)
    assert f"reproduces:{original.pathspec}" in context.run(outcome.new_run).tags

    by_name = reproduce_run(original, ("join", "model"))
    expected = original["join"].task.artifacts["model"].sha
    assert by_name.matches and by_name.expected_hash == by_name.new_hash == expected
    assert by_name.artifact is not None and by_name.artifact[::2] == ("join", "model")

    # a foreach step has several tasks: the task is named too
    second_split = original["scale"].tasks()[1]
    split = reproduce_run(original, ("scale", second_split.id, "scaled"))
    assert split.matches and split.new_hash == second_split.artifacts["scaled"].sha
    with pytest.raises(ReproduceError, match="has 3 tasks"):
        reproduce_run(original, "scale.scaled")
    # an expected hash that the fresh run does not give is no match
    wrong = reproduce_run(original, "join.model", expected_hash="0" * 64)
    assert not wrong.matches and wrong.first_diverged_step is None


def test_a_nondeterministic_run_names_the_diverging_step(run_and_open) -> None:
    original = run_and_open(FLOWS / "noisy.py", "--size", "4")
    outcome = reproduce_run(original)
    assert not outcome.matches and outcome.first_diverged_step == "train"
    assert outcome.diff.step("start").status == "equal"
    assert outcome.diff.step("train").artifacts["model"].summary["kind"] == "number"
    assert "NOT reproduced: outputs differ; first diverging step: train" in str(outcome)
    assert (
        "NOT reproduced" in outcome._repr_html_() and "(first divergence)" in outcome._repr_html_()
    )

    data = reproduce_run(original, "start.data")
    assert data.matches  # the deterministic part reproduces
    model = reproduce_run(original, "train.model")
    assert not model.matches and model.new_hash != model.expected_hash
    assert "artifact train.model (task " in str(model) and ") differs; first" in str(model)
    assert model.first_diverged_step == "train"
    assert model.to_dict()["diff"]["first_diverged_step"] == "train"


def test_artifact_names() -> None:
    assert parse_artifact("train.model") == ("train", "model")
    assert parse_artifact("train/5.model") == ("train", "5", "model")
    assert parse_artifact(("train", "model")) == ("train", "model")
    for bad in ("train", ".model", "train/.model"):
        with pytest.raises(ReproduceError, match="does not name an artifact"):
            parse_artifact(bad)


def test_the_reproduce_command(run_flow: FlowRunner, run_and_open) -> None:
    original = run_and_open(FLOWS / "noisy.py")

    def flowkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*FLOWKIT, "reproduce", original.pathspec, *args],
            cwd=run_flow.cwd,
            env=run_flow.env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    differs = flowkit()
    assert differs.returncode == 1, differs.stderr
    assert "first diverging step: train" in differs.stdout
    assert f"Comparing {original.pathspec} (a) with" in differs.stdout  # the diff follows

    matches = flowkit("--artifact", "start.data", "--json")
    assert matches.returncode == 0, matches.stderr
    payload = json.loads(matches.stdout)
    assert payload["matches"] is True and payload["artifact"][::2] == ["start", "data"]
    assert payload["new_run"].startswith("NoisyFlow/")

    missing = flowkit("--artifact", "start.nothing")
    assert missing.returncode == 2
    assert "has no artifact 'nothing'" in missing.stderr
