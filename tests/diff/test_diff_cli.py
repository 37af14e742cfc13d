"""``flowkit diff`` as a user runs it: exit codes like diff(1), --json, bare run ids, errors."""

from __future__ import annotations

import json
import subprocess
import sys

from flowtests import SHAPE_CASES, FlowRunner

FLOWKIT = [sys.executable, "-c", "from flowkit.cli.main import main; main()"]


def flowkit(runner: FlowRunner, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FLOWKIT, *args],
        cwd=runner.cwd,
        env=runner.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_exit_codes_text_and_json(run_flow: FlowRunner, run_and_open) -> None:
    linear = SHAPE_CASES["linear"].file
    one, two = run_and_open(linear), run_and_open(linear)
    three = run_and_open(linear, "--alpha", "5")

    same = flowkit(run_flow, "diff", one.pathspec, two.pathspec)
    assert same.returncode == 0, same.stderr
    assert same.stdout.startswith(f"Comparing {one.pathspec} (a) with {two.pathspec} (b): equal")

    # a bare run id is a run of the other argument's flow
    changed = flowkit(run_flow, "diff", one.pathspec, three.id)
    assert changed.returncode == 1, changed.stderr
    assert "alpha: 2 -> 5" in changed.stdout
    assert "First diverging step: b" in changed.stdout

    as_json = flowkit(run_flow, "diff", one.id, three.id, "--json")
    assert as_json.returncode == 1, as_json.stderr
    payload = json.loads(as_json.stdout)
    assert payload["equal"] is False and payload["first_diverged_step"] == "b"
    assert payload["parameters"] == [{"name": "alpha", "status": "different", "a": 2, "b": 5}]
    [b_step] = [s for s in payload["steps"] if s["step"] == "b"]
    [x] = [a for a in b_step["artifacts"] if a["name"] == "x"]
    assert x["summary"]["delta"] == 6 and x["sha_a"] != x["sha_b"]


def test_errors_exit_with_2(run_flow: FlowRunner, run_and_open) -> None:
    linear = run_and_open(SHAPE_CASES["linear"].file)
    run_and_open(SHAPE_CASES["switch"].file)

    missing = flowkit(run_flow, "diff", linear.pathspec, "LinearFlow/99")
    assert missing.returncode == 2
    assert "no run '99'" in missing.stderr and "Fix:" in missing.stderr

    # run 1 exists in both flows: a bare id alone cannot say which
    ambiguous = flowkit(run_flow, "diff", "1", "1")
    assert ambiguous.returncode == 2
    assert "LinearFlow, SwitchFlow" in ambiguous.stderr and "FLOW/RUN_ID" in ambiguous.stderr

    usage = flowkit(run_flow, "diff", linear.pathspec)
    assert usage.returncode == 2 and "Missing argument" in usage.stderr
