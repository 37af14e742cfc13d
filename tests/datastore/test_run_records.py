"""Run records in format 1: one object read per run, older two-part runs, newer formats refused."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flowkit.cli.main import cli
from flowkit.client import ClientContext
from flowkit.datastore import ByteStorage, FlowDatastore, RunEnd, RunRecord
from flowkit.datastore.format import FORMAT_VERSION, FormatTooNew, writer_version
from flowkit.errors import CorruptRecord, ObjectNotFound

FLOW = "RecFlow"


class _Reads:
    """Counts what the real local storage reads, by run: objects read and misses."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.found: Counter[str] = Counter()
        self.missed: Counter[str] = Counter()
        original = ByteStorage.read

        def read(storage: ByteStorage, key: str, **kwargs: Any) -> bytearray:
            run = _run_of(key)
            try:
                data = original(storage, key, **kwargs)
            except ObjectNotFound:
                if run:
                    self.missed[run] += 1
                raise
            if run:
                self.found[run] += 1
            return data

        monkeypatch.setattr(ByteStorage, "read", read)


def _run_of(key: str) -> str:
    parts = key.split("/")
    return parts[2] if len(parts) >= 4 and parts[1] == "runs" else ""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FlowDatastore]:
    yield FlowDatastore(ByteStorage(str(tmp_path / "ds")), FLOW)


def _start(store: FlowDatastore, **fields: Any) -> str:
    record = RunRecord(flow=FLOW, run_id="", created_at=1.7e9, user="ada", **fields)
    return store.new_run(record)


def _runs(store: FlowDatastore, finished: int) -> list[str]:
    ids = []
    for i in range(finished):
        run_id = _start(store, tags=["t"], parameter_values={"alpha": str(i)})
        store.finish_run(run_id, "succeeded", 1.7e9 + 5, {"tasks_ran": 3})
        ids.append(run_id)
    return ids


def test_records_say_which_format_and_flowkit_wrote_them(store: FlowDatastore) -> None:
    [run_id] = _runs(store, 1)
    for name in ("run.json", "end.json"):
        raw = json.loads(store.storage.read(f"{FLOW}/runs/{run_id}/{name}"))
        assert (raw["format_version"], raw["written_by"]) == (FORMAT_VERSION, writer_version())
    end = json.loads(store.storage.read(f"{FLOW}/runs/{run_id}/end.json"))
    start = json.loads(store.storage.read(f"{FLOW}/runs/{run_id}/run.json"))
    # The end record is the start record completed: everything a listing needs.
    assert {k: v for k, v in end.items() if k not in ("status", "finished_at", "summary")} == {
        k: v for k, v in start.items() if k not in ("status", "finished_at", "summary")
    }
    assert (end["status"], end["summary"], start["status"]) == (
        "succeeded",
        {"tasks_ran": 3},
        "running",
    )
    # An older flowkit reading the end part still finds its fields there.
    assert RunEnd.from_json(json.dumps(end).encode()).status == "succeeded"


def test_listing_runs_reads_one_object_per_run(
    store: FlowDatastore, monkeypatch: pytest.MonkeyPatch
) -> None:
    finished = _runs(store, 5)
    crashed = _start(store)  # its runner died: a start record, no end record
    reads = _Reads(monkeypatch)
    flow = ClientContext(store.storage.root).flow(FLOW)
    runs = list(flow.runs())
    assert [r.id for r in runs] == [crashed, *reversed(finished)]
    assert [r.status for r in runs[1:]] == ["succeeded"] * 5
    assert reads.found == Counter({run_id: 1 for run_id in [*finished, crashed]})
    assert reads.missed == Counter({crashed: 1})  # its end record, which does not exist


def test_latest_run_and_the_runs_command_read_one_object_per_run(
    store: FlowDatastore, monkeypatch: pytest.MonkeyPatch
) -> None:
    finished = _runs(store, 4)
    reads = _Reads(monkeypatch)
    latest = ClientContext(store.storage.root).flow(FLOW).latest_run
    assert latest is not None and latest.id == finished[-1] and latest.status == "succeeded"
    assert reads.found == Counter({finished[-1]: 1})
    reads.found.clear()
    result = CliRunner().invoke(
        cli, ["runs", FLOW, "--datastore-root", store.storage.root, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert [r["run_id"] for r in json.loads(result.output)] == list(reversed(finished))
    assert reads.found == Counter({run_id: 1 for run_id in finished})


def test_runs_recorded_in_two_parts_before_format_1_still_list(store: FlowDatastore) -> None:
    prefix = f"{FLOW}/runs"
    old_start = {"flow": FLOW, "run_id": "1", "created_at": 1.6e9, "user": "old", "tags": ["x"]}
    store.storage.write(f"{prefix}/1/run.json", json.dumps(old_start).encode())
    store.storage.write(
        f"{prefix}/1/end.json", RunEnd(status="failed", finished_at=1.6e9 + 9).to_json()
    )
    store.storage.write(f"{prefix}/2/run.json", json.dumps({**old_start, "run_id": "2"}).encode())
    new = _runs(store, 1)
    assert new == ["3"]
    runs = list(ClientContext(store.storage.root).flow(FLOW).runs())
    assert [(r.id, r._current.status) for r in runs] == [
        ("3", "succeeded"),
        ("2", "running"),  # crashed before format 1: no end part
        ("1", "failed"),
    ]
    old = store.run_record("1")
    assert (old.user, old.tags, old.finished_at, old.format_version) == (
        "old",
        ["x"],
        1.6e9 + 9,
        "0.0",
    )


def _newer(store: FlowDatastore, run_id: str, name: str) -> None:
    key = f"{FLOW}/runs/{run_id}/{name}"
    raw = json.loads(store.storage.read(key))
    raw.update(format_version="2.0", written_by="2.3.1", layout="something new")
    store.storage.write(key, json.dumps(raw).encode())


@pytest.mark.parametrize("name", ["run.json", "end.json"])
def test_a_newer_major_record_stops_the_reader(store: FlowDatastore, name: str) -> None:
    _runs(store, 2)
    if name == "run.json":
        store.storage.delete(f"{FLOW}/runs/2/end.json")
    _newer(store, "2", name)
    context = ClientContext(store.storage.root)
    with pytest.raises(FormatTooNew, match=r"written by flowkit 2\.3: upgrade"):
        context.run(f"{FLOW}/2")
    with pytest.raises(FormatTooNew):
        list(context.flow(FLOW).runs())
    assert context.run(f"{FLOW}/1").successful  # other runs read as before
    # A minor bump only adds fields: still readable.
    key = f"{FLOW}/runs/1/end.json"
    raw = json.loads(store.storage.read(key))
    store.storage.write(key, json.dumps({**raw, "format_version": "1.7", "new": 1}).encode())
    assert store.run_record("1").status == "succeeded"


def test_a_damaged_complete_record_names_its_file_and_run(store: FlowDatastore) -> None:
    _runs(store, 1)
    key = f"{FLOW}/runs/1/end.json"
    raw = json.loads(store.storage.read(key))
    store.storage.write(key, json.dumps({**raw, "user": 3}).encode())
    with pytest.raises(CorruptRecord) as info:
        store.run_record("1")
    assert info.value.url == store.storage.url(key)
    assert f"of {FLOW}/1 is unreadable: " in info.value.message
    assert "user must be a string" in info.value.message
