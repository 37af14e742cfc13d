"""Loops (a switch going back to an earlier step or to itself), run as users run them.

Each pass of a step inside a loop is its own task with its own id and ``iteration``; artifacts
flow from one pass to the next; a join after a foreach whose body loops receives one input per
split (the last pass); resume clones the passes that succeeded; a loop that never exits is
stopped by ``FLOWKIT_MAX_LOOP_ITERATIONS``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from flowtests import FLOWS, SHAPE_CASES, end_artifact

from flowkit.client import ClientContext

LOOPS = FLOWS / "loops"
TWO_STEP = LOOPS / "two_step_loop.py"


def _by_step(store, run_id: str) -> dict:
    by_step: dict = {}
    for manifest in store.manifests(run_id):
        by_step.setdefault(manifest.step, []).append(manifest)
    for manifests in by_step.values():
        manifests.sort(key=lambda m: int(m.task_id))
    return by_step


@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_each_pass_is_its_own_task_and_passes_its_artifacts_on(run_flow, launcher):
    result = run_flow(TWO_STEP, "run", "--rounds", "4", "--launcher", launcher)
    assert result.returncode == 0, result.output
    store = run_flow.store("TwoStepLoopFlow")
    assert end_artifact(store, "1") == {"total": 40, "passes": 4}
    by_step = _by_step(store, "1")
    body, check = by_step["body"], by_step["check"]
    assert [m.iteration for m in body] == [0, 1, 2, 3]
    assert [m.iteration for m in check] == [0, 1, 2, 3]
    assert [m.iteration for m in by_step["start"] + by_step["end"]] == [0, 0]
    # distinct, increasing ids, in the order the passes ran
    ids = [int(m.task_id) for pair in zip(body, check, strict=True) for m in pair]
    assert ids == sorted(ids) and len(set(ids)) == 8
    # each pass's parent is the previous pass (of the step before it in the loop)
    assert body[0].parents == [by_step["start"][0].pathspec]
    for k in range(1, 4):
        assert body[k].parents == [check[k - 1].pathspec]
        assert check[k].parents == [body[k].pathspec]
    assert by_step["end"][0].parents == [check[-1].pathspec]
    # pass k saw the artifacts of pass k-1: its history lists the earlier passes' task ids
    history = store.load_artifact(body[-1].artifacts["history"])
    assert history == [m.task_id for m in body]
    assert [store.load_artifact(m.artifacts["state"]) for m in check] == ["again"] * 3 + ["done"]


def test_client_lists_every_pass_in_order_and_shows_its_iteration(run_flow):
    assert run_flow(TWO_STEP, "run", "--rounds", "3").returncode == 0
    client = ClientContext(str(run_flow.root))
    run = client.run("TwoStepLoopFlow/1")
    tasks = run["body"].tasks()
    assert [t.iteration for t in tasks] == [0, 1, 2]
    assert [t.data.total for t in tasks] == [10, 20, 30]
    assert [int(t.id) for t in tasks] == sorted(int(t.id) for t in tasks)
    assert tasks[2].to_dict()["iteration"] == 2
    assert "iteration 2" in repr(tasks[2])
    assert run["start"].task.iteration == 0
    frame_rows = [t.iteration for t in run["check"]]
    assert frame_rows == [0, 1, 2]


def test_join_after_a_looping_foreach_gets_the_last_pass_of_each_split(run_flow):
    shape = SHAPE_CASES["recursive_switch_inside_foreach"]
    result = run_flow(shape.file, "run", "--launcher", "spawn")
    assert result.returncode == 0, result.output
    store = run_flow.store(shape.flow)
    assert end_artifact(store, "1") == shape.result
    by_step = _by_step(store, "1")
    body = by_step["loop_body"]
    passes = {}
    for m in body:
        passes.setdefault(m.foreach_stack[-1].index, []).append(m.iteration)
    assert passes == {0: [0], 1: [0, 1, 2], 2: [0, 1]}
    last = {}  # the last pass of each split
    for m in body:
        index = m.foreach_stack[-1].index
        if m.iteration == len(passes[index]) - 1:
            last[index] = m
    [join] = by_step["join"]
    exits = {m.pathspec: m for m in by_step["exit_item_loop"]}
    assert len(join.parents) == 3
    for index, parent in enumerate(join.parents):
        exit_task = exits[parent]
        assert exit_task.foreach_stack[-1].index == index
        assert exit_task.parents == [last[index].pathspec]


def test_loop_around_a_foreach_runs_its_splits_and_join_once_per_pass(run_flow):
    result = run_flow(LOOPS / "loop_around_foreach.py", "run")
    assert result.returncode == 0, result.output
    store = run_flow.store("LoopAroundForeachFlow")
    assert end_artifact(store, "1") == [[1, 2], [11, 12], [21, 22]]
    by_step = _by_step(store, "1")
    assert [m.iteration for m in by_step["gather"]] == [0, 1, 2]
    assert sorted((m.foreach_stack[-1].index, m.iteration) for m in by_step["work"]) == [
        (0, 0),
        (0, 1),
        (0, 2),
        (1, 0),
        (1, 1),
        (1, 2),
    ]
    assert all(len(m.parents) == 2 for m in by_step["gather"])


def test_a_loop_that_never_exits_is_stopped_by_the_limit(run_flow):
    flow = LOOPS / "endless.py"
    result = run_flow(flow, "run", FLOWKIT_MAX_LOOP_ITERATIONS="5")
    assert result.returncode == 1, result.output
    message = result.stderr.split("started", 1)[1]
    assert "loop limit reached" in message
    assert "endless.py:13:" in message  # the switch's self.next
    assert "step 'spin' made 5 passes" in message
    assert "FLOWKIT_MAX_LOOP_ITERATIONS=50" in message and "self.state" in message
    assert "Traceback" not in result.output
    store = run_flow.store("EndlessLoopFlow")
    assert [m.iteration for m in _by_step(store, "1")["spin"]] == [0, 1, 2, 3, 4]
    record = store.run_record("1")
    assert record.status == "failed"
    assert "LoopLimitExceeded" in record.summary["stopped_by"]


def test_an_invalid_limit_is_refused(run_flow):
    result = run_flow(LOOPS / "endless.py", "run", FLOWKIT_MAX_LOOP_ITERATIONS="0")
    assert result.returncode == 2, result.output
    assert "max_loop_iterations (0) must be 1 or more" in result.stderr


@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_resume_clones_the_passes_that_succeeded_and_reruns_from_the_failed_one(run_flow, launcher):
    failed = run_flow(TWO_STEP, "run", "--launcher", launcher, FLOWKIT_TEST_FAIL_PASS="3")
    assert failed.returncode == 1, failed.output
    assert "planned failure in pass 3" in failed.stderr
    resumed = run_flow(TWO_STEP, "resume", "--launcher", launcher)
    assert resumed.returncode == 0, resumed.output
    store = run_flow.store("TwoStepLoopFlow")
    assert end_artifact(store, "2") == {"total": 50, "passes": 5}
    old, new = _by_step(store, "1"), _by_step(store, "2")
    for step in ("body", "check"):
        cloned = [m for m in new[step] if m.origin_pathspec]
        ran = [m for m in new[step] if not m.origin_pathspec]
        assert [m.iteration for m in cloned] == [0, 1, 2]
        assert [m.iteration for m in ran] == [3, 4]
        origin = {m.iteration: m for m in old[step]}
        assert all(m.origin_pathspec == origin[m.iteration].pathspec for m in cloned)
        assert all(m.artifacts == origin[m.iteration].artifacts for m in cloned)
    assert store.run_record("2").summary["tasks_cloned"] == 7  # start + 3 x (body, check)
    assert "5 tasks ran, 7 cloned" in resumed.stderr


def test_flowkit_show_lists_the_iteration_of_each_pass(run_flow):
    assert run_flow(TWO_STEP, "run", "--rounds", "3").returncode == 0
    command = [sys.executable, "-c", "from flowkit.cli.main import main; main()", "show"]
    step = subprocess.run(
        [*command, "TwoStepLoopFlow/1/body"], env=run_flow.env, capture_output=True, text=True
    )
    assert step.returncode == 0, step.stderr
    lines = step.stdout.splitlines()
    assert lines[1].split()[:3] == ["TASK", "INDEX", "ITERATION"]
    assert [line.split()[1] for line in lines[2:]] == ["0", "1", "2"]  # index column is empty
    last = lines[-1].split()[0]
    task = subprocess.run(
        [*command, f"TwoStepLoopFlow/1/body/{last}"],
        env=run_flow.env,
        capture_output=True,
        text=True,
    )
    assert task.returncode == 0, task.stderr
    assert "iteration  2" in task.stdout


def test_loop_in_a_branch_and_nested_loops(run_flow):
    flow = LOOPS / "nested_loops.py"
    result = run_flow(flow, "run")
    assert result.returncode == 0, result.output
    store = run_flow.store("NestedLoopsFlow")
    assert end_artifact(store, "1") == {"ns": [3, 100], "outer": 3, "inner": 2}
    by_step = _by_step(store, "1")
    assert [m.iteration for m in by_step["a"]] == [0, 1, 2]
    assert [m.iteration for m in by_step["b"]] == [0]
    [join] = by_step["join"]
    assert join.parents == [by_step["a"][-1].pathspec, by_step["b"][0].pathspec]
    assert [m.iteration for m in by_step["o1"]] == [0, 1, 2]
    # the inner loop's passes add up over the outer passes: each keeps its own identity
    assert [m.iteration for m in by_step["i1"]] == [0, 1, 2, 3, 4, 5]
    # resume from a step inside the outer loop re-runs the whole loop, clones what precedes it
    resumed = run_flow(flow, "resume", "o2")
    assert resumed.returncode == 0, resumed.output
    assert "13 tasks ran, 6 cloned" in resumed.stderr
    assert end_artifact(store, "2") == end_artifact(store, "1")


def test_show_marks_the_branch_that_loops_back(run_flow):
    shown = run_flow(TWO_STEP, "show")
    assert shown.returncode == 0, shown.output
    assert "(switch on self.state; loops back to body)" in shown.stdout
    assert shown.stdout.index("Step body") < shown.stdout.index("Step check")


def test_resume_after_the_loop_limit_continues_the_loop(run_flow):
    stopped = run_flow(TWO_STEP, "run", "--rounds", "8", FLOWKIT_MAX_LOOP_ITERATIONS="5")
    assert stopped.returncode == 1, stopped.output
    assert "step 'body' made 5 passes" in stopped.stderr
    resumed = run_flow(TWO_STEP, "resume")  # the default limit, the origin's parameters
    assert resumed.returncode == 0, resumed.output
    assert "7 tasks ran, 11 cloned" in resumed.stderr
    store = run_flow.store("TwoStepLoopFlow")
    assert end_artifact(store, "2") == {"total": 80, "passes": 8}
    body = _by_step(store, "2")["body"]
    assert [(m.iteration, bool(m.origin_pathspec)) for m in body] == [(k, k < 5) for k in range(8)]
