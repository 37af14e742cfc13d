"""Run: every accessor on a run of each DAG shape, a failed run, code snapshots, errors."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from flowtests import Shape

from flowkit import Flow, Run, Step, Task
from flowkit.datastore import ByteStorage, FlowDatastore
from flowkit.errors import NamespaceMismatch, ObjectNotFound, RunNotFound

STEPS = {
    "LinearFlow": ["start", "a", "b", "c", "end"],
    "BranchFlow": ["start", "left|right", "left|right", "join", "end"],
    "ForeachFlow": ["start", "work", "join", "end"],
    "NestedForeachFlow": ["start", "outer", "inner", "inner_join", "outer_join", "end"],
    "SwitchFlow": ["start", "fast", "end"],
    "SwitchInForeachFlow": [
        "start",
        "process_item",
        "handle_a|handle_b",
        "handle_a|handle_b",
        "join",
        "end",
    ],
    "NestedStringForeachFlow": [
        "start",
        "foreach_split_x",
        "foreach_split_y",
        "foreach_split_z",
        "foreach_inner",
        "foreach_join_z",
        "foreach_join_y",
        "foreach_join_x",
        "end",
    ],
    "RecursiveSwitchFlow": ["start", "loop_step", "exit_loop", "end"],
    "RecursiveForeachFlow": [
        "start",
        "start_loop_for_item",
        "loop_body",
        "exit_item_loop",
        "join",
        "end",
    ],
    "ParallelFlow": ["start", "train", "join", "end"],
}


def test_run_of_each_shape(recorded: Path, shape: Shape) -> None:
    run = Run(f"{shape.flow}/1")
    assert (run.id, run.pathspec, run.path_components) == (
        "1",
        f"{shape.flow}/1",
        [shape.flow, "1"],
    )
    assert run.parent == Flow(shape.flow)
    assert run.successful and run.finished and run.status == "succeeded"
    assert isinstance(run.created_at, datetime) and run.created_at.tzinfo is not None
    assert run.finished_at is not None and run.finished_at >= run.created_at
    assert run.duration is not None and 0 < run.duration < 60
    assert run.user == "ada"
    assert run.tags == run.system_tags == frozenset({"user:ada"})
    assert run.user_tags == frozenset()
    assert run.origin_run_id is None and run.origin_pathspec is None
    # The end step's artifacts.
    assert run.data.result == shape.result
    assert run.end_task.pathspec.startswith(f"{shape.flow}/1/end/")
    # Steps: iteration is newest first, as in Metaflow's client.
    names = [step.id for step in run]
    expected = STEPS[shape.flow]
    assert len(names) == len(expected)
    for got, want in zip(reversed(names), expected, strict=True):
        assert got in want.split("|")
    assert all(isinstance(step, Step) for step in run.steps())
    assert "start" in run and "nope" not in run
    assert sum(len(step) for step in run) == shape.tasks
    assert sum(len(step.tasks()) for step in run) == shape.tasks
    assert run["start"].parent is run


def test_parameters(recorded: Path) -> None:
    assert Run("LinearFlow/1").parameters == {"alpha": 2}
    assert Run("LinearFlow/2").parameters == {"alpha": 3}
    assert Run("BranchFlow/1").parameters == {}
    assert Run("LinearFlow/2").data.result["alpha"] == 3


def test_tags_given_at_run_time(recorded: Path) -> None:
    run = Run("LinearFlow/2")
    assert run.user == "bob"
    assert run.user_tags == frozenset({"prod"})
    assert run.tags == frozenset({"prod", "user:bob"})


def test_failed_run(recorded: Path) -> None:
    run = Run("CrashFlow/1")
    assert run.finished and not run.successful and run.status == "failed"
    assert run.data is None and run.end_task is None
    assert "end" not in run
    [start, work] = run.step_summaries()
    assert (start.step, work.step) == ("start", "work")
    assert work.failed == 1 and work.status == "failed" and len(work.tasks) == 4
    assert "value" in work.produced
    failed = [task for task in run["work"] if not task.successful]
    assert [task.index for task in failed] == [2]


def test_code_snapshot(recorded: Path, tmp_path: Path) -> None:
    code = Run("ForeachFlow/1").code
    assert code is not None
    assert code.script_name == "foreach.py"
    assert "foreach.py" in code.files and "_probe.py" in code.files
    assert "class ForeachFlow(FlowSpec)" in code.flowspec
    assert "def probe" in code.read("_probe.py")
    with code.tarball as archive:
        assert "foreach.py" in archive.getnames()
    folder = code.extract(tmp_path / "code")
    assert (folder / "foreach.py").read_text() == code.flowspec
    fresh = code.extract()  # a fresh temporary folder
    try:
        assert fresh.joinpath("foreach.py").is_file()
    finally:
        shutil.rmtree(fresh)
    assert code.path.endswith(code.sha)
    assert repr(code).startswith("<code of ForeachFlow/1: foreach.py")
    with pytest.raises(ObjectNotFound) as info:
        code.read("foreach.pyy")
    assert 'Did you mean "foreach.py"?' in info.value.format_message()
    assert Task(Run("ForeachFlow/1").end_task.pathspec).code.sha == code.sha


def test_to_dict_is_json(recorded: Path) -> None:
    data = json.loads(json.dumps(Run("LinearFlow/2").to_dict()))
    assert data["pathspec"] == "LinearFlow/2"
    assert data["status"] == "succeeded"
    assert data["parameters"] == {"alpha": 3}
    assert data["tags"] == ["prod", "user:bob"]
    assert datetime.fromisoformat(data["created_at"]) == Run("LinearFlow/2").created_at


def test_to_frame_has_one_row_per_task(recorded: Path, shape: Shape) -> None:
    frame = Run(f"{shape.flow}/1").to_frame()
    assert len(frame) == shape.tasks
    assert set(frame["status"]) == {"succeeded"}
    assert frame["step"].iloc[0] == "start" and frame["step"].iloc[-1] == "end"


def test_repr_and_html(recorded: Path) -> None:
    run = Run("LinearFlow/2")
    text = repr(run)
    assert text.startswith("<Run LinearFlow/2: succeeded, started ")
    assert "tags: prod, user:bob" in text
    html = run._repr_html_()
    for expected in ("Run LinearFlow/2", "alpha=3", "result (dict,", "<table>"):
        assert expected in html
    assert "<script" not in Run("CrashFlow/1")._repr_html_()


def test_unknown_step_suggests_the_closest(recorded: Path) -> None:
    run = Run("ForeachFlow/1")
    with pytest.raises(RunNotFound) as info:
        run["wrok"]
    message = info.value.format_message()
    assert "the run ForeachFlow/1 has no step 'wrok'" in message
    assert 'Did you mean "work"?' in message
    assert "end, join, start, work" in message
    with pytest.raises(RunNotFound, match="Did you mean"):
        Step("ForeachFlow/1/wrok")


def test_a_running_run_is_seen_finishing(make_run, empty_root: Path) -> None:
    run_id = make_run(status=None)
    run = Run(f"TagFlow/{run_id}")
    assert not run.finished and run.finished_at is None and run.duration is None
    assert run.status == "running" and run.data is None
    FlowDatastore(ByteStorage(str(empty_root)), "TagFlow").finish_run(run_id, "succeeded")
    assert run.finished and run.successful and run.finished_at is not None


def test_namespace_mismatch_by_pathspec(recorded: Path) -> None:
    import flowkit

    flowkit.namespace("user:bob")
    assert Run("LinearFlow/2").user == "bob"
    for make in (
        lambda: Run("LinearFlow/1"),
        lambda: Step("LinearFlow/1/end"),
        lambda: Task(f"LinearFlow/1/end/{Run('LinearFlow/2').end_task.id}"),
    ):
        with pytest.raises(NamespaceMismatch) as info:
            make()
        assert "is not in the namespace 'user:bob'" in info.value.format_message()
        assert "namespace(None)" in info.value.format_message()
