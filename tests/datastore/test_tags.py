"""Tag events, flow listing, log look-up of cloned tasks: on every backend."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from flowkit.datastore import (
    ByteStorage,
    FlowDatastore,
    LogOrigin,
    RunRecord,
    TaskManifest,
    flow_names,
)
from flowkit.datastore.tags import check_tags
from flowkit.errors import CorruptObject, RunNotFound, TagError

MakeRecord = Callable[..., RunRecord]
MakeManifest = Callable[..., TaskManifest]


@pytest.fixture
def flow(storage: ByteStorage) -> FlowDatastore:
    return FlowDatastore(storage, "HelloFlow")


def test_tags_start_from_the_record_and_replay_events_in_order(
    flow: FlowDatastore, make_run_record: MakeRecord
) -> None:
    run_id = flow.new_run(make_run_record(tags=["given", "old"]))
    record = flow.run_record(run_id)
    assert flow.run_tags(record) == ["given", "old"]
    assert flow.tags.runs_with_events() == set()

    flow.change_tags(run_id, add=["prod", "x"], user="ada")
    flow.change_tags(run_id, remove=["old", "x", "never-there"])
    flow.change_tags(run_id, add=["x"], remove=["prod"])  # removals apply first
    assert flow.run_tags(record) == ["given", "x"]
    assert flow.tags.runs_with_events() == {run_id}
    # The record itself is never rewritten.
    assert flow.run_record(run_id).tags == ["given", "old"]
    # A caller that knows the run has no events skips the listing.
    assert flow.run_tags(record, changed=False) == ["given", "old"]


def test_an_empty_change_writes_nothing(flow: FlowDatastore, make_run_record: MakeRecord) -> None:
    run_id = flow.new_run(make_run_record())
    flow.change_tags(run_id)
    assert flow.tags.runs_with_events() == set()


def test_tags_of_a_missing_run_cannot_change(flow: FlowDatastore) -> None:
    with pytest.raises(RunNotFound):
        flow.change_tags("7", add=["x"])


@pytest.mark.parametrize("bad", ["", "a\nb", "x" * 257, 5])
def test_invalid_tags_are_refused(bad: object) -> None:
    with pytest.raises(TagError) as info:
        check_tags([bad])  # type: ignore[list-item]
    assert "tag" in info.value.format_message()


def test_check_tags_accepts_a_single_string() -> None:
    assert check_tags("prod") == ["prod"]
    assert check_tags(["b", "a", "b"]) == ["a", "b"]


def test_concurrent_writers_lose_no_change(
    flow: FlowDatastore, make_run_record: MakeRecord
) -> None:
    run_id = flow.new_run(make_run_record())

    def add(i: int) -> None:
        flow.change_tags(run_id, add=[f"t{i}"])

    threads = [threading.Thread(target=add, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert flow.run_tags(flow.run_record(run_id)) == sorted(f"t{i}" for i in range(16))


def test_a_corrupt_event_is_reported(flow: FlowDatastore, make_run_record: MakeRecord) -> None:
    run_id = flow.new_run(make_run_record())
    flow.storage.write(f"HelloFlow/tags/{run_id}/00000000000000000001-aa.json", b"{not json")
    with pytest.raises(CorruptObject, match="tag event"):
        flow.run_tags(flow.run_record(run_id))


def test_flow_names_and_has_runs(storage: ByteStorage, make_run_record: MakeRecord) -> None:
    assert flow_names(storage) == []
    hello = FlowDatastore(storage, "HelloFlow")
    assert not hello.has_runs()
    hello.new_run(make_run_record())
    FlowDatastore(storage, "OtherFlow").save_artifact(1)  # data only: no run yet
    assert hello.has_runs()
    assert flow_names(storage) == ["HelloFlow"]


def test_a_cloned_task_reads_the_logs_of_its_origin(
    flow: FlowDatastore, make_manifest: MakeManifest
) -> None:
    flow.write_log("2", "train", "7", 1, "stdout", b"from the origin\n")
    origin = make_manifest(run_id="2", task_id="7", attempt=1)
    clone = make_manifest(
        run_id="3",
        task_id="9",
        attempt=0,
        origin_pathspec=origin.pathspec,
        log_origin=LogOrigin(run_id="2", step="train", task_id="7", attempt=1),
    )
    assert flow.read_task_log(origin, "stdout") == b"from the origin\n"
    assert flow.read_task_log(clone, "stdout") == b"from the origin\n"
    assert flow.read_task_log(clone, "stderr") == b""
