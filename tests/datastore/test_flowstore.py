"""FlowDatastore: run ids, run records, manifests, logs and artifacts, on every backend."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from flowkit.datastore import ByteStorage, FlowDatastore, RunRecord, TaskManifest
from flowkit.errors import RunNotFound, UnpicklableArtifact

MakeRecord = Callable[..., RunRecord]
MakeManifest = Callable[..., TaskManifest]


@pytest.fixture
def flow(storage: ByteStorage) -> FlowDatastore:
    return FlowDatastore(storage, "HelloFlow")


def test_run_ids_count_up_from_one(flow: FlowDatastore, make_run_record: MakeRecord) -> None:
    assert flow.latest_run_id() is None
    assert flow.run_ids() == []
    ids = [flow.new_run(make_run_record()) for _ in range(11)]
    assert ids == [str(i) for i in range(1, 12)]
    assert flow.run_ids() == ids  # numeric order: "10" after "9"
    assert flow.latest_run_id() == "11"


def test_allocation_skips_ids_already_claimed(
    flow: FlowDatastore, make_run_record: MakeRecord
) -> None:
    flow.new_run(make_run_record())
    # Another runner claimed 2 and 3 without updating the hint.
    for run_id in ("2", "3"):
        flow.storage.write(
            f"HelloFlow/runs/{run_id}/run.json", make_run_record(run_id=run_id).to_json()
        )
    assert flow.latest_run_id() == "3"
    assert flow.new_run(make_run_record()) == "4"


def test_allocation_without_hint_lists_runs(
    flow: FlowDatastore, make_run_record: MakeRecord
) -> None:
    flow.new_run(make_run_record())
    flow.new_run(make_run_record())
    flow.storage.delete("HelloFlow/latest")
    assert flow.latest_run_id() == "2"
    assert flow.new_run(make_run_record()) == "3"


def test_stale_hint_pointing_at_a_missing_run(
    flow: FlowDatastore, make_run_record: MakeRecord
) -> None:
    flow.new_run(make_run_record())
    flow.storage.write("HelloFlow/latest", b"40")
    assert flow.latest_run_id() == "1"


def test_run_record_is_merged_with_its_end(
    flow: FlowDatastore, make_run_record: MakeRecord
) -> None:
    run_id = flow.new_run(make_run_record(tags=["a"], flow="ignored"))
    record = flow.run_record(run_id)
    assert (record.run_id, record.flow, record.status, record.tags) == (
        run_id,
        "HelloFlow",
        "running",
        ["a"],
    )
    flow.finish_run(run_id, "succeeded", 200.0, {"tasks": 4})
    record = flow.run_record(run_id)
    assert (record.status, record.finished_at, record.summary) == ("succeeded", 200.0, {"tasks": 4})
    assert record.created_at == 100.0


def test_missing_run_raises_run_not_found_with_a_hint(
    flow: FlowDatastore, make_run_record: MakeRecord
) -> None:
    flow.new_run(make_run_record())
    with pytest.raises(RunNotFound) as info:
        flow.run_record("99")
    assert "HelloFlow/99" in str(info.value)
    assert "HelloFlow/1" in str(info.value)  # the hint names the latest run
    with pytest.raises(RunNotFound):
        flow.finish_run("99", "failed")


def test_manifest_round_trip_and_highest_attempt(
    flow: FlowDatastore, make_manifest: MakeManifest
) -> None:
    for attempt in (0, 2, 1):
        flow.write_manifest(
            make_manifest(run_id="1", attempt=attempt, plugin_data={"p": {"a": attempt}})
        )
    assert flow.attempts("1", "train", "7") == [0, 1, 2]
    assert flow.read_manifest("1", "train", "7").attempt == 2
    assert flow.read_manifest("1", "train", "7", attempt=0) == make_manifest(
        run_id="1", attempt=0, plugin_data={"p": {"a": 0}}
    )
    with pytest.raises(RunNotFound):
        flow.read_manifest("1", "train", "7", attempt=5)
    with pytest.raises(RunNotFound, match="HelloFlow/1/train/8"):
        flow.read_manifest("1", "train", "8")


def test_manifests_steps_and_tasks(
    flow: FlowDatastore, make_run_record: MakeRecord, make_manifest: MakeManifest
) -> None:
    run_id = flow.new_run(make_run_record())
    flow.write_manifest(make_manifest(run_id=run_id, step="start", task_id="1", attempt=0))
    for task_id in ("2", "10", "3"):
        flow.write_manifest(make_manifest(run_id=run_id, step="train", task_id=task_id, attempt=0))
    flow.write_manifest(make_manifest(run_id=run_id, step="train", task_id="3", attempt=1))
    flow.write_log(run_id, "end", "11", 0, "stdout", b"running, no manifest yet")
    assert flow.steps(run_id) == ["end", "start", "train"]
    assert flow.tasks(run_id, "train") == ["2", "3", "10"]
    found = {(m.step, m.task_id): m.attempt for m in flow.manifests(run_id)}
    assert found == {("start", "1"): 0, ("train", "2"): 0, ("train", "3"): 1, ("train", "10"): 0}
    assert flow.steps("12345") == []


def test_logs(flow: FlowDatastore) -> None:
    flow.write_log("1", "start", "1", 0, "stdout", b"hello\n")
    flow.write_log("1", "start", "1", 0, "stderr", b"")
    assert flow.read_log("1", "start", "1", 0, "stdout") == b"hello\n"
    assert flow.read_log("1", "start", "1", 0, "stderr") == b""
    assert flow.read_log("1", "start", "1", 1, "stdout") == b""
    assert not flow.storage.exists("HelloFlow/runs/1/start/1/0.stderr")


def test_artifacts_round_trip_and_deduplicate(flow: FlowDatastore) -> None:
    array = np.arange(100_000, dtype=np.float32)
    refs = flow.save_artifacts({"array": array, "config": {"lr": 0.1}, "again": array})
    assert refs["array"].sha == refs["again"].sha
    assert refs["array"].type == "numpy.ndarray"
    assert refs["array"].size > array.nbytes
    np.testing.assert_array_equal(flow.load_artifact(refs["array"]), array)
    assert flow.load_artifact(refs["config"].sha) == {"lr": 0.1}
    single = flow.save_artifact({"lr": 0.1}, "config")
    assert single == refs["config"]
    assert len(flow.storage.list("HelloFlow/data")) <= 2  # two distinct blobs


def test_unpicklable_artifact_is_named(flow: FlowDatastore) -> None:
    with pytest.raises(UnpicklableArtifact, match="'handle'"):
        flow.save_artifacts({"fine": 1, "handle": threading.Lock()})


def _allocate(
    root: str, record: RunRecord, barrier: threading.Barrier, queue: multiprocessing.Queue
) -> None:
    flow = FlowDatastore(ByteStorage(root), "HelloFlow")
    barrier.wait()
    queue.put([flow.new_run(record) for _ in range(3)])


def test_concurrent_processes_get_distinct_run_ids(
    shared_root: str, make_run_record: MakeRecord
) -> None:
    FlowDatastore(ByteStorage(shared_root), "HelloFlow").new_run(make_run_record())  # hint exists
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    queue = context.Queue()
    workers = [
        context.Process(target=_allocate, args=(shared_root, make_run_record(), barrier, queue))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    allocated = sorted((run_id for ids in results for run_id in ids), key=int)
    assert allocated == [str(i) for i in range(2, 14)]


def test_concurrent_threads_get_distinct_run_ids(
    shared_root: str, make_run_record: MakeRecord
) -> None:
    flow = FlowDatastore(ByteStorage(shared_root), "HelloFlow")
    barrier = threading.Barrier(4)
    allocated: list[str] = []

    def allocate() -> None:
        barrier.wait()
        allocated.append(flow.new_run(make_run_record()))

    threads = [threading.Thread(target=allocate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(allocated, key=int) == ["1", "2", "3", "4"]
    assert flow.latest_run_id() == "4"


def test_layout_on_disk(
    tmp_path: Path, make_run_record: MakeRecord, make_manifest: MakeManifest
) -> None:
    flow = FlowDatastore(ByteStorage(str(tmp_path)), "HelloFlow")
    run_id = flow.new_run(make_run_record())
    flow.finish_run(run_id, "failed")
    flow.write_manifest(make_manifest(run_id=run_id, step="start", task_id="1", attempt=0))
    ref = flow.save_artifact("value")
    expected = [
        f"HelloFlow/data/{ref.sha[:2]}/{ref.sha}",
        "HelloFlow/latest",
        "HelloFlow/runs/1/end.json",
        "HelloFlow/runs/1/run.json",
        "HelloFlow/runs/1/start/1/0.manifest.json",
    ]
    found = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert found == expected
