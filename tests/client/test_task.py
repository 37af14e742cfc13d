"""Step and Task: tasks in foreach order, logs, failures, origins, attempts, errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from flowtests import Shape

from flowkit import Run, Step, Task
from flowkit.datastore import ByteStorage, FlowDatastore, LogOrigin
from flowkit.errors import PathspecError, RunNotFound


def test_every_task_of_each_shape(recorded: Path, shape: Shape) -> None:
    run = Run(f"{shape.flow}/1")
    tasks = [task for step in run for task in step]
    assert len(tasks) == shape.tasks
    for task in tasks:
        assert task.successful and task.finished and task.status == "succeeded"
        assert task.exception is None and task.origin_pathspec is None
        assert task.current_attempt == 0
        assert task.created_at <= task.finished_at and task.duration >= 0
        assert task.parent.parent == run
        assert Task(task.pathspec) == task
        assert task.stderr == ""
        if task.parent.id != "start":
            assert task.parent_task_pathspecs
        assert all(Task(p).successful for p in task.parent_task_pathspecs)
    end = run["end"].task
    assert end.stdout.startswith("result ")
    assert end.data.result == shape.result


def test_foreach_tasks_come_in_input_order(recorded: Path) -> None:
    work = Run("ForeachFlow/1")["work"]
    assert [t.index for t in work] == [0, 1, 2, 3]
    assert [t.data.pair for t in work] == [(0, 0), (1, 10), (2, 20), (3, 30)]
    assert len(work) == 4 and work.task.index == 0


def test_nested_foreach_indexes(recorded: Path) -> None:
    inner = Run("NestedForeachFlow/1")["inner"]
    assert [t.data.word for t in inner] == ["a1", "a2", "a3", "b1", "b2", "b3"]
    assert [t.index for t in inner] == [0, 1, 2, 0, 1, 2]
    stacks = [[(f.step, f.index, f.num_splits) for f in t.foreach_stack] for t in inner]
    assert stacks[4] == [("start", 1, 2), ("outer", 1, 3)]
    assert Run("NestedForeachFlow/1")["start"].task.index is None


def test_step_accessors(recorded: Path) -> None:
    step = Step("ForeachFlow/1/work")
    assert (step.id, step.pathspec) == ("work", "ForeachFlow/1/work")
    assert step.parent == Run("ForeachFlow/1")
    first = step.task
    assert step[first.id] == first and first.id in step and "999" not in step
    assert step.created_at <= step.finished_at
    assert repr(step) == "<Step ForeachFlow/1/work: 4 tasks>"
    assert "<table>" in step._repr_html_()
    frame = step.to_frame("pair")
    assert list(frame["pair"]) == [(0, 0), (1, 10), (2, 20), (3, 30)]
    assert list(frame["index"]) == [0, 1, 2, 3]


def test_failed_task_keeps_its_exception_and_logs(recorded: Path) -> None:
    [failed] = [t for t in Run("CrashFlow/1")["work"] if not t.successful]
    assert failed.status == "failed" and failed.index == 2
    exc = failed.exception
    assert (exc.type, exc.message, exc.kind) == ("ValueError", "bad value 42", "exception")
    assert "crashes.py" in exc.traceback and str(exc) == exc.traceback
    assert "ValueError: bad value 42" in failed.stderr
    assert "Traceback" in failed.stderr
    assert len(failed.artifacts) == 0 and "value" not in failed
    assert "failed" in repr(failed)
    html = failed._repr_html_()
    assert "ValueError: bad value 42" in html
    assert failed.to_dict()["exception"]["type"] == "ValueError"


def test_task_repr_html_and_dict(recorded: Path) -> None:
    task = Run("ForeachFlow/1")["work"].task
    assert repr(task) == (
        f"<Task ForeachFlow/1/work/{task.id}: succeeded, "
        f"{repr(task).split(', ')[1]}, index 0, 3 artifacts>"
    )
    html = task._repr_html_()
    assert "pair" in html and "tuple" in html and " B<" in html
    data = json.loads(json.dumps(task.to_dict()))
    assert data["index"] == 0 and data["artifacts"]["pair"]["type"] == "builtins.tuple"


def _clone_into_new_run(root: Path, origin: Task) -> str:
    """Write a manifest the way resume clones a task: same blobs, origin_pathspec, log_origin."""
    store = FlowDatastore(ByteStorage(str(root)), origin.path_components[0])
    record = dataclasses.replace(store.run_record(origin.path_components[1]), run_id="")
    run_id = store.new_run(dataclasses.replace(record, origin_run_id=origin.path_components[1]))
    manifest = store.read_manifest(origin.path_components[1], origin.parent.id, origin.id)
    clone = dataclasses.replace(
        manifest,
        run_id=run_id,
        task_id="42",
        origin_pathspec=manifest.pathspec,
        log_origin=LogOrigin(manifest.run_id, manifest.step, manifest.task_id, manifest.attempt),
    )
    store.write_manifest(clone)
    return run_id


def test_cloned_task_reads_through(empty_root: Path, recorded_root: Path) -> None:
    import shutil

    shutil.copytree(recorded_root / "LinearFlow", empty_root / "LinearFlow")
    origin = Run("LinearFlow/1")["end"].task
    run_id = _clone_into_new_run(empty_root, origin)
    clone = Task(f"LinearFlow/{run_id}/end/42")
    assert clone.origin_pathspec == origin.pathspec
    assert clone.stdout == origin.stdout and clone.stdout.startswith("result ")
    assert clone.data.result == origin.data.result
    assert clone["result"].sha == origin["result"].sha
    run = Run(f"LinearFlow/{run_id}")
    assert run.origin_run_id == "1" and run.origin_pathspec == "LinearFlow/1"


def test_attempts(empty_root: Path, recorded_root: Path) -> None:
    import shutil

    shutil.copytree(recorded_root / "LinearFlow", empty_root / "LinearFlow")
    store = FlowDatastore(ByteStorage(str(empty_root)), "LinearFlow")
    task = Run("LinearFlow/1")["b"].task
    manifest = store.read_manifest("1", "b", task.id)
    store.write_manifest(dataclasses.replace(manifest, attempt=1))
    assert Task(task.pathspec).current_attempt == 1
    assert Task(task.pathspec, attempt=0).current_attempt == 0
    with pytest.raises(RunNotFound, match="has no attempt 5") as info:
        Task(task.pathspec, attempt=5)
    assert "0, 1" in info.value.format_message()


def test_unknown_task_lists_the_tasks(recorded: Path) -> None:
    with pytest.raises(RunNotFound) as info:
        Task("ForeachFlow/1/work/999")
    message = info.value.format_message()
    assert "the step ForeachFlow/1/work has no task '999'" in message
    assert "2, 3, 4, 5" in message
    with pytest.raises(RunNotFound, match="has no step"):
        Task("ForeachFlow/1/wrok/2")
    with pytest.raises(RunNotFound, match="has no run"):
        Task("ForeachFlow/7/work/2")


def test_unfinished_task(empty_root: Path, recorded_root: Path) -> None:
    import shutil

    shutil.copytree(recorded_root / "LinearFlow", empty_root / "LinearFlow")
    store = FlowDatastore(ByteStorage(str(empty_root)), "LinearFlow")
    store.write_log("1", "b", "77", 0, "stdout", b"still going")  # logs, but no manifest yet
    with pytest.raises(RunNotFound, match="has not finished"):
        Task("LinearFlow/1/b/77")
    assert "77" not in [t.id for t in Step("LinearFlow/1/b")]


def test_wrong_pathspecs_name_the_right_class(recorded: Path) -> None:
    with pytest.raises(PathspecError) as info:
        Task("ForeachFlow/1/work")
    message = info.value.format_message()
    assert "is not the pathspec of a task" in message
    assert "use Step('ForeachFlow/1/work')" in message
    with pytest.raises(PathspecError):
        Step("ForeachFlow//work")
    with pytest.raises(PathspecError):
        Run(12)  # type: ignore[arg-type]


def test_a_real_resumed_run_reads_through(run_flow, monkeypatch) -> None:
    from flowtests import SHAPE_CASES

    shape = SHAPE_CASES["foreach"]
    # eight workers: every split starts before split 2 fails, so all the others get cloned
    failed = run_flow(shape.file, "run", "--max-workers", "8", FLOWKIT_TEST_FAIL="work:2")
    assert failed.returncode == 1, failed.output
    resumed = run_flow(shape.file, "resume")
    assert resumed.returncode == 0, resumed.output
    monkeypatch.setenv("FLOWKIT_DATASTORE_ROOT", str(run_flow.root))
    origin, run = Run("ForeachFlow/1"), Run("ForeachFlow/2")
    assert not origin.successful and run.successful
    assert run.origin_run_id == "1" and run.origin_pathspec == "ForeachFlow/1"
    assert run.data.result == shape.result
    work = {task.index: task for task in run["work"]}
    assert work[2].origin_pathspec is None  # the failed split ran again
    for index in (0, 1, 3):
        clone = work[index]
        source = Task(clone.origin_pathspec)
        assert source.path_components[:2] == ["ForeachFlow", "1"] and source.index == index
        assert clone["pair"].sha == source["pair"].sha and clone.data.pair == source.data.pair
        assert clone.stdout == source.stdout and clone.stderr == source.stderr
    [broken] = [task for task in origin["work"] if not task.successful]
    assert "planned failure in work:2" in broken.stderr
