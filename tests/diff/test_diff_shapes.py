"""Diffs of two runs of every DAG shape: tasks matched by foreach index and loop pass, steps
in DAG order, and the first step whose outputs diverge."""

from __future__ import annotations

from flowtests import SHAPE_CASES, Shape


def test_two_runs_of_the_same_shape_are_equal(shape: Shape, run_and_open) -> None:
    first, second = run_and_open(shape.file), run_and_open(shape.file)
    diff = first.diff(second)
    assert diff.equal, str(diff)
    assert not diff and diff.first_diverged_step is None
    names = [s.step for s in diff.steps]
    assert names[0] == "start" and names[-1] == "end"
    assert sorted(names) == sorted(s.id for s in first)
    assert sum(s.tasks_a for s in diff.steps) == shape.tasks
    assert all(s.status == "equal" and not s.changed_artifacts for s in diff.steps)
    assert "equal" in str(diff).splitlines()[0]


def test_a_parameter_change_diverges_where_it_is_first_used(run_and_open) -> None:
    linear = SHAPE_CASES["linear"].file
    diff = run_and_open(linear).diff(run_and_open(linear, "--alpha", "3"))
    assert not diff.equal
    [change] = diff.parameters
    assert (change.name, change.status, change.a, change.b) == ("alpha", "different", 2, 3)
    assert [s.step for s in diff.steps] == ["start", "a", "b", "c", "end"]
    assert [s.status for s in diff.steps[:2]] == ["equal", "equal"]
    assert diff.first_diverged_step == "b" and diff.first_diverged_task == "b"
    x = diff.step("b").artifacts["x"]
    assert x.status == "different" and x.produced
    assert x.summary == {"kind": "number", "a": 4, "b": 6, "delta": 2, "relative": 0.5}
    assert "alpha" not in diff.step("b").artifacts  # parameters are reported once, above
    # c only carries x on: it says so instead of summarizing the change again
    assert not diff.step("c").artifacts["x"].produced
    text = str(diff)
    assert "alpha: 2 -> 3" in text and "x (int): 4 -> 6 (delta +2, +50%)" in text
    assert "First diverging step: b" in text
    assert [p.name for p in run_and_open(linear).diff(diff.run_b).parameters] == ["alpha"]


def test_branches_are_ordered_before_their_join(run_and_open) -> None:
    branch = SHAPE_CASES["branch"].file
    diff = run_and_open(branch).diff(run_and_open(branch))
    names = [s.step for s in diff.steps]
    assert names == ["start", "left", "right", "join", "end"]


def test_a_wider_foreach_leaves_splits_without_a_match(run_and_open) -> None:
    foreach = SHAPE_CASES["foreach"].file
    diff = run_and_open(foreach).diff(run_and_open(foreach, "--width", "5"))
    work = diff.step("work")
    assert (work.tasks_a, work.tasks_b, work.unmatched_b) == (4, 5, ["work[4]"])
    assert work.status == "different" and not work.unmatched_a
    # the four common splits have the same pair: only the carried-over list differs
    assert "pair" not in [a.name for a in work.changed_artifacts]
    assert diff.first_diverged_step == "start"
    assert "only in b: work[4]" in str(diff)


def test_nested_foreach_tasks_are_matched_by_their_index_path(run_and_open) -> None:
    nested = SHAPE_CASES["nested_foreach"].file
    diff = run_and_open(nested).diff(run_and_open(nested))
    inner = diff.step("inner")
    assert inner.tasks_a == inner.tasks_b == 6 and inner.status == "equal"


def test_a_switch_taken_differently_has_steps_in_one_run_only(run_and_open) -> None:
    switch = SHAPE_CASES["switch"].file
    diff = run_and_open(switch).diff(run_and_open(switch, "--mode", "careful"))
    statuses = {s.step: s.status for s in diff.steps}
    assert statuses == {
        "start": "different",
        "fast": "only_a",
        "careful": "only_b",
        "end": "different",
    }
    assert diff.first_diverged_step == "start"
    assert diff.step("start").artifacts["choice"].summary == {
        "kind": "repr",
        "a": "'fast'",
        "b": "'careful'",
    }
    text = str(diff)
    assert "- fast: only in a (1 task)" in text and "+ careful: only in b (1 task)" in text


def test_loop_passes_are_matched_by_iteration(run_and_open) -> None:
    loop = SHAPE_CASES["recursive_switch"].file
    diff = run_and_open(loop).diff(run_and_open(loop, "--times", "5"))
    step = diff.step("loop_step")
    assert (step.tasks_a, step.tasks_b) == (4, 5)
    assert step.unmatched_b == ["loop_step#4"]
    # passes 0-2 are the same; pass 3 decided to stop in a and to go on in b
    assert step.artifacts["loop_status"].tasks == ["loop_step#3"]
    assert step.artifacts["count"].status == "equal"
    assert diff.step("start").status == "equal"
    assert (diff.first_diverged_step, diff.first_diverged_task) == ("loop_step", "loop_step#3")
    text = str(diff)
    assert "loop_status (str) in loop_step#3: 'exit' -> 'continue'" in text
    assert "First diverging step: loop_step (task loop_step#3)" in text


def test_loops_inside_a_foreach_are_matched_by_index_and_iteration(run_and_open) -> None:
    flow = SHAPE_CASES["recursive_switch_inside_foreach"].file
    diff = run_and_open(flow).diff(run_and_open(flow))
    assert diff.equal, str(diff)
    assert (
        sum(s.tasks_a for s in diff.steps) == SHAPE_CASES["recursive_switch_inside_foreach"].tasks
    )


def test_runs_of_different_flows_are_compared_with_a_note(run_and_open) -> None:
    linear = run_and_open(SHAPE_CASES["linear"].file)
    switch = run_and_open(SHAPE_CASES["switch"].file)
    diff = linear.diff(switch)
    assert not diff.same_flow and not diff.equal
    assert "different flows (LinearFlow and SwitchFlow)" in diff.notes[0]
    assert diff.step("a").status == "only_a" and diff.step("fast").status == "only_b"
