"""Resume: clone what succeeded, re-run the rest, through the real CLI, for every DAG shape."""

from __future__ import annotations

import signal
import time

import pytest
from flowtests import FLOWS, SHAPE_CASES, end_artifact, traced


@pytest.fixture
def trace(run_flow, tmp_path):
    folder = tmp_path / "trace"
    folder.mkdir()
    run_flow.env["FLOWKIT_TEST_TRACE"] = str(folder)
    return folder


def _fail_then_resume(run_flow, shape):
    failed = run_flow(shape.file, "run", "--max-workers", "8", FLOWKIT_TEST_FAIL=shape.fail_at)
    assert failed.returncode == 1, failed.output
    assert "planned failure" in failed.stderr
    resumed = run_flow(shape.file, "resume")
    assert resumed.returncode == 0, resumed.output
    return failed, resumed


def test_resume_after_failure_clones_successes_and_reruns_the_rest(run_flow, shape, trace):
    _, resumed = _fail_then_resume(run_flow, shape)
    store = run_flow.store(shape.flow)
    origin_ok = [m for m in store.manifests("1") if m.status == "succeeded"]
    new = store.manifests("2")
    cloned = [m for m in new if m.origin_pathspec]
    ran = [m for m in new if not m.origin_pathspec]
    # every task that succeeded before is cloned (none is downstream of the failure) ...
    assert sorted(m.origin_pathspec for m in cloned) == sorted(m.pathspec for m in origin_ok)
    # ... by reference: the same blobs, no process started for it
    by_path = {m.pathspec: m for m in origin_ok}
    for clone in cloned:
        assert clone.artifacts == by_path[clone.origin_pathspec].artifacts
    assert len(traced(trace, "2")) == len(ran)
    assert len(new) == shape.tasks
    assert end_artifact(store, "2") == shape.result
    record = store.run_record("2")
    assert record.origin_run_id == "1"
    assert record.status == "succeeded"
    assert record.summary["tasks_cloned"] == len(cloned)
    assert record.summary["tasks_ran"] == len(ran)
    assert f"{len(ran)} tasks ran, {len(cloned)} cloned" in resumed.stderr
    assert store.latest_run_id() == "2"
    # the failed task itself ran again
    step = shape.fail_at.split(":")[0]
    assert any(m.step == step for m in ran)


def test_resume_foreach_reruns_only_the_failed_split(run_flow, trace):
    shape = SHAPE_CASES["foreach"]
    _fail_then_resume(run_flow, shape)
    assert traced(trace, "2") == ["end-_", "join-_", "work-2"]
    store = run_flow.store(shape.flow)
    [join] = [m for m in store.manifests("2") if m.step == "join"]
    assert len(join.parents) == 4


def test_resume_step_forces_it_and_everything_after(run_flow, trace):
    shape = SHAPE_CASES["linear"]
    assert run_flow(shape.file, "run").returncode == 0
    resumed = run_flow(shape.file, "resume", "b")
    assert resumed.returncode == 0, resumed.output
    assert traced(trace, "2") == ["b-_", "c-_", "end-_"]
    store = run_flow.store(shape.flow)
    assert end_artifact(store, "2") == shape.result
    cloned = sorted(m.step for m in store.manifests("2") if m.origin_pathspec)
    assert cloned == ["a", "start"]


def test_resume_chain_and_origin_run_id(run_flow, trace):
    shape = SHAPE_CASES["branch"]
    assert run_flow(shape.file, "run", FLOWKIT_TEST_FAIL="right").returncode == 1
    # resuming with the failure still in place fails again: a resumed run can fail too
    assert run_flow(shape.file, "resume", FLOWKIT_TEST_FAIL="right").returncode == 1
    third = run_flow(shape.file, "resume")  # resumes run 2, the latest
    assert third.returncode == 0, third.output
    store = run_flow.store(shape.flow)
    assert store.run_record("3").origin_run_id == "2"
    left = next(m for m in store.manifests("3") if m.step == "left")
    assert left.origin_pathspec.startswith(f"{shape.flow}/2/")
    # logs of a clone of a clone still point at the task that wrote them
    assert left.log_origin is not None and left.log_origin.run_id == "1"
    # an explicit origin: resume run 1 again
    fourth = run_flow(shape.file, "resume", "--origin-run-id", "1")
    assert fourth.returncode == 0, fourth.output
    assert store.run_record("4").origin_run_id == "1"
    assert traced(trace, "4") == ["end-_", "join-_", "right-_"]


def test_resume_after_sigkill_of_the_runner(run_flow, trace):
    flow = FLOWS / "resumable" / "slow.py"
    proc = run_flow.popen(flow, "run", "--max-workers", "2")
    store = run_flow.store("SlowFlow")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = [m for m in store.manifests("1")] if store.latest_run_id() else []
        if sum(m.step == "work" for m in done) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    committed = {m.pathspec for m in store.manifests("1")}
    assert store.run_record("1").status == "running"  # no clean shutdown was recorded
    resumed = run_flow(flow, "resume", "--max-workers", "4", FLOWKIT_SLOW_SECONDS="0")
    assert resumed.returncode == 0, resumed.output
    new = store.manifests("2")
    assert {m.origin_pathspec for m in new if m.origin_pathspec} == committed
    assert len(new) == 3 + 6
    assert end_artifact(store, "2", "total") == sum(range(6))


@pytest.mark.parametrize(
    ("args", "prepare", "message"),
    [
        (["resume"], False, "no earlier run of LinearFlow"),
        (["resume", "bb"], True, "no step 'bb'. Did you mean \"b\"?"),
        (["resume", "--origin-run-id", "99"], True, "LinearFlow has no run '99'"),
        (["resume", "--origin-run-id", "OtherFlow/1"], True, "belongs to flow OtherFlow"),
        (["resume", "--alpha", "3"], True, "resume reuses the parameters of run LinearFlow/1"),
    ],
)
def test_resume_errors_are_clear(run_flow, args, prepare, message):
    shape = SHAPE_CASES["linear"]
    if prepare:
        assert run_flow(shape.file, "run").returncode == 0
    result = run_flow(shape.file, *args)
    assert result.returncode == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_resume_refuses_a_changed_graph(run_flow, tmp_path):
    flow = tmp_path / "changing.py"
    source = (FLOWS / "resumable" / "changing.py").read_text()
    flow.write_text(source)
    assert run_flow(flow, "run").returncode == 0
    b_step = "    @step\n    def b(self):\n        self.next(self.c)\n\n"
    assert b_step in source
    flow.write_text(source.replace(b_step, "").replace("self.next(self.b)", "self.next(self.c)"))
    result = run_flow(flow, "resume")
    assert result.returncode == 2, result.output
    assert "step 'a' changed since run ChangingFlow/1" in result.stderr
    assert "resume a" in result.stderr
    assert "changing.py:" in result.stderr
    # following the advice works
    assert run_flow(flow, "resume", "a").returncode == 0
