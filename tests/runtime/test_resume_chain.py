"""Resuming a resume that died before committing anything still clones what its origin had."""

from __future__ import annotations

import dataclasses
import time

import pytest
from flowtests import SHAPE_CASES, end_artifact, traced

from flowkit.datastore.manifest import RunRecord


@pytest.fixture
def trace(run_flow, tmp_path):
    folder = tmp_path / "trace"
    folder.mkdir()
    run_flow.env["FLOWKIT_TEST_TRACE"] = str(folder)
    return folder


def _died_resume(store, origin: str, resume_step: str | None = None) -> str:
    """Record a resume of ``origin`` whose runner died right after writing its start record."""
    first = store.run_record(origin)
    record = RunRecord(
        first.flow,
        "",
        time.time(),
        first.user,
        parameters=first.parameters,
        parameter_values=first.parameter_values,
        code_sha=first.code_sha,
        flow_file=first.flow_file,
        origin_run_id=origin,
        **({"resume_step": resume_step} if resume_step else {}),
    )
    return store.new_run(record)


def test_resume_of_a_resume_that_died_at_once_clones_from_its_origin(run_flow, trace):
    shape = SHAPE_CASES["foreach"]
    failed = run_flow(shape.file, "run", "--max-workers", "8", FLOWKIT_TEST_FAIL=shape.fail_at)
    assert failed.returncode == 1, failed.output
    store = run_flow.store(shape.flow)
    assert _died_resume(store, "1") == "2"
    resumed = run_flow(shape.file, "resume")
    assert resumed.returncode == 0, resumed.output
    assert "resuming ForeachFlow/2" in resumed.stderr
    # only the split that failed in run 1 and what follows it ran again
    assert traced(trace, "3") == ["end-_", "join-_", "work-2"]
    origins = {m.origin_pathspec for m in store.manifests("3") if m.origin_pathspec}
    assert origins and all(o.startswith("ForeachFlow/1/") for o in origins)
    assert end_artifact(store, "3") == shape.result


def test_tasks_cloned_before_the_resume_died_match_their_origin(run_flow, trace):
    shape = SHAPE_CASES["linear"]
    failed = run_flow(shape.file, "run", FLOWKIT_TEST_FAIL=shape.fail_at)
    assert failed.returncode == 1, failed.output
    store = run_flow.store(shape.flow)
    run_id = _died_resume(store, "1")
    # run 2 got as far as cloning start, then died
    [start] = [m for m in store.manifests("1") if m.step == "start"]
    clone = dataclasses.replace(start, run_id=run_id, origin_pathspec=start.pathspec)
    store.write_manifest(clone)
    resumed = run_flow(shape.file, "resume")
    assert resumed.returncode == 0, resumed.output
    assert traced(trace, "3") == ["b-_", "c-_", "end-_"]
    cloned = {m.step: m.origin_pathspec for m in store.manifests("3") if m.origin_pathspec}
    assert cloned == {"start": clone.pathspec, "a": cloned["a"]}
    assert cloned["a"].startswith("LinearFlow/1/a/")
    assert end_artifact(store, "3") == shape.result


def test_steps_a_died_resume_was_told_to_rerun_are_not_taken_from_before(run_flow, trace):
    shape = SHAPE_CASES["linear"]
    assert run_flow(shape.file, "run").returncode == 0
    store = run_flow.store(shape.flow)
    # `resume a` (the user changed step a) died at once: resuming it must still re-run a and
    # what follows, not clone them from run 1; start is cloned from run 1.
    run_id = _died_resume(store, "1", resume_step="a")
    resumed = run_flow(shape.file, "resume", "--origin-run-id", run_id)
    assert resumed.returncode == 0, resumed.output
    assert traced(trace, "3") == ["a-_", "b-_", "c-_", "end-_"]
    [start] = [m for m in store.manifests("3") if m.step == "start"]
    assert start.origin_pathspec.startswith("LinearFlow/1/start/")
