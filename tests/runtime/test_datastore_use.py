"""How runs use the datastore: dedup, hash checks, concurrent runs, where the root is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flowtests import SHAPE_CASES, end_artifact

from flowkit.own_code import PACKAGE_DIR

LINEAR = SHAPE_CASES["linear"]


def _blobs(root: Path, flow: str) -> set[str]:
    return {p.name for p in (root / flow / "data").rglob("*") if p.is_file()}


def test_identical_second_run_adds_no_blob(run_flow):
    assert run_flow(LINEAR.file, "run").returncode == 0
    first = _blobs(run_flow.root, LINEAR.flow)
    assert first
    assert run_flow(LINEAR.file, "run").returncode == 0
    assert _blobs(run_flow.root, LINEAR.flow) == first
    store = run_flow.store(LINEAR.flow)
    assert store.run_record("1").code_sha == store.run_record("2").code_sha


def test_corrupted_blob_is_reported_not_loaded(run_flow):
    assert run_flow(LINEAR.file, "run", "--alpha", "5").returncode == 0
    store = run_flow.store(LINEAR.flow)
    ref = store.run_record("1").parameters["alpha"]
    blob = run_flow.root / LINEAR.flow / "data" / ref.sha[:2] / ref.sha
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF
    blob.write_bytes(bytes(data))
    # the same parameter value maps to the same (now corrupt) blob: the run must refuse it
    result = run_flow(LINEAR.file, "run", "--alpha", "5")
    assert result.returncode == 1
    assert ref.sha in result.stderr
    assert "corrupt" in result.stderr.lower()


def test_four_simultaneous_runs_get_distinct_complete_runs(run_flow):
    procs = [run_flow.popen(LINEAR.file, "run") for _ in range(4)]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    store = run_flow.store(LINEAR.flow)
    assert store.run_ids() == ["1", "2", "3", "4"]
    for run_id in store.run_ids():
        assert store.run_record(run_id).status == "succeeded"
        assert len(store.manifests(run_id)) == LINEAR.tasks
        assert end_artifact(store, run_id) == LINEAR.result


def test_default_root_is_nearest_dot_flowkit(tmp_path):
    project = tmp_path / "project"
    (project / ".flowkit").mkdir(parents=True)
    sub = project / "notebooks" / "deep"
    sub.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k != "FLOWKIT_DATASTORE_ROOT"}
    proc = subprocess.run(
        [sys.executable, str(LINEAR.file), "run"], cwd=sub, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert (project / ".flowkit" / LINEAR.flow / "runs" / "1" / "run.json").is_file()
    assert not (sub / ".flowkit").exists()


def test_datastore_root_flag_wins(run_flow, tmp_path):
    other = tmp_path / "elsewhere"
    result = run_flow(LINEAR.file, "--datastore-root", str(other), "run")
    assert result.returncode == 0, result.output
    assert (other / LINEAR.flow / "runs" / "1").is_dir()
    assert not run_flow.root.exists()


def test_metadata_files_per_task_at_most_three(run_flow):
    shape = SHAPE_CASES["foreach"]
    assert run_flow(shape.file, "run").returncode == 0
    run_dir = run_flow.root / shape.flow / "runs" / "1"
    task_dirs = [p for p in run_dir.glob("*/*") if p.is_dir()]
    assert len(task_dirs) == shape.tasks
    assert max(len(list(d.iterdir())) for d in task_dirs) <= 3


def test_unpicklable_artifact_is_a_clear_error(run_flow):
    from flowtests import FLOWS

    result = run_flow(FLOWS / "failing" / "unpicklable.py", "run")
    assert result.returncode == 1
    assert "the artifact 'lock' of type _thread.lock cannot be serialized" in result.stderr
    assert "keep it in a local variable" in result.stderr
    assert f'File "{PACKAGE_DIR}{os.sep}' not in result.stderr  # no frame of flowkit itself
