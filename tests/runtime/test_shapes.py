"""Every DAG shape runs through the real CLI and stores what its steps computed."""

from __future__ import annotations

from flowtests import end_artifact


def test_shape_runs_and_stores_result(run_flow, shape):
    result = run_flow(shape.file, "run")
    assert result.returncode == 0, result.output
    store = run_flow.store(shape.flow)
    run_id = store.latest_run_id()
    assert run_id == "1"
    assert end_artifact(store, run_id) == shape.result
    manifests = store.manifests(run_id)
    assert len(manifests) == shape.tasks
    assert all(m.status == "succeeded" for m in manifests)
    record = store.run_record(run_id)
    assert record.status == "succeeded"
    assert record.summary["tasks_ran"] == shape.tasks
    assert f"Run {shape.flow}/1 succeeded" in result.stderr


def test_shape_output_is_prefixed_and_captured(run_flow, shape):
    result = run_flow(shape.file, "run")
    assert result.returncode == 0, result.output
    store = run_flow.store(shape.flow)
    [end_task] = store.tasks("1", "end")
    assert f"[1/end/{end_task}] result " in result.stdout
    log = store.read_log("1", "end", end_task, 0, "stdout").decode()
    assert log.startswith("result ")


def test_shape_check_and_show(run_flow, shape):
    checked = run_flow(shape.file, "check")
    assert checked.returncode == 0, checked.output
    assert f"Flow {shape.flow} is valid" in checked.stdout
    shown = run_flow(shape.file, "show")
    assert shown.returncode == 0
    assert "Step start" in shown.stdout and "Step end" in shown.stdout


def test_parents_and_foreach_stack_recorded(run_flow):
    from flowtests import SHAPE_CASES

    shape = SHAPE_CASES["nested_foreach"]
    assert run_flow(shape.file, "run").returncode == 0
    store = run_flow.store(shape.flow)
    by_step: dict = {}
    for m in store.manifests("1"):
        by_step.setdefault(m.step, []).append(m)
    assert len(by_step["inner"]) == 6
    stacks = sorted([f.index for f in m.foreach_stack] for m in by_step["inner"])
    assert stacks == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]
    [outer_join] = by_step["outer_join"]
    assert len(outer_join.parents) == 2
    assert all("/inner_join/" in p for p in outer_join.parents)
    assert by_step["start"][0].foreach_count == 2


def test_spawn_launcher_runs_fresh_interpreters(run_flow):
    """The portable path (one fresh interpreter per task, via the ``step`` command)."""
    from flowtests import SHAPE_CASES

    for name in ("branch", "foreach"):
        shape = SHAPE_CASES[name]
        result = run_flow(shape.file, "run", "--launcher", "spawn")
        assert result.returncode == 0, result.output
        store = run_flow.store(shape.flow)
        assert end_artifact(store, "1") == shape.result
        assert len(store.manifests("1")) == shape.tasks
