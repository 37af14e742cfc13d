"""Damaged records: fields of the wrong type are refused naming the file, nonsense hints ignored."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from flowkit.datastore import ByteStorage, FlowDatastore, RunEnd, RunRecord, TaskManifest
from flowkit.errors import CorruptObject, CorruptRecord

MakeManifest = Callable[..., TaskManifest]


def _with(data: bytes, path: list[Any], value: Any) -> bytes:
    raw = json.loads(data)
    target = raw
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return json.dumps(raw).encode()


@pytest.mark.parametrize(
    ("path", "value", "says"),
    [
        (["started_at"], "yesterday", "started_at must be a finite number"),
        (["finished_at"], 1e300, "finished_at must be a time"),
        (["started_at"], True, "started_at must be a finite number"),
        (["attempt"], -1, "attempt must be a whole number >= 0"),
        (["artifacts", "model", "size"], "big", "artifacts['model'].size must be a whole"),
        (["artifacts", "model"], [1, 2], "artifacts['model'] must be a JSON object"),
        (["artifacts"], ["model"], "artifacts must be a JSON object, not a list"),
        (["foreach_stack"], {"step": "x"}, "foreach_stack must be a list"),
        (["foreach_stack", 0, "index"], 1.5, "foreach_stack[0].index must be a whole"),
        (["parents"], "HelloFlow/3/start/1", "parents must be a list"),
        (["status"], "maybe", "status must be one of"),
        (["logs", "stdout"], "12", "logs['stdout'] must be a whole number"),
        (["failure"], "boom", "failure must be a JSON object"),
        (["failure", "kind"], 3, "failure.kind must be a string"),
        (["plugin_data", "batch"], [1], "plugin_data['batch'] must be a JSON object"),
        (["step"], 3, "step must be a string"),
    ],
)
def test_a_field_of_the_wrong_type_is_refused_naming_it(
    make_manifest: MakeManifest, path: list[Any], value: Any, says: str
) -> None:
    data = _with(make_manifest().to_json(), path, value)
    with pytest.raises(CorruptObject, match=says.replace("[", r"\[").replace("(", r"\(")):
        TaskManifest.from_json(data)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created_at", "2024-01-01"),
        ("tags", {"a": 1}),
        ("parameters", [1]),
        ("parameter_values", {"alpha": 3}),
        ("user", None),
    ],
)
def test_run_record_fields_are_checked(field: str, value: Any) -> None:
    record = RunRecord(flow="F", run_id="1", created_at=1.7e9, user="ada")
    with pytest.raises(CorruptObject, match=field):
        RunRecord.from_json(_with(record.to_json(), [field], value))


def test_end_record_fields_are_checked() -> None:
    end = RunEnd(status="succeeded", finished_at=1.7e9)
    with pytest.raises(CorruptObject, match="finished_at"):
        RunEnd.from_json(_with(end.to_json(), ["finished_at"], "soon"))
    with pytest.raises(CorruptObject, match="summary"):
        RunEnd.from_json(_with(end.to_json(), ["summary"], [1]))


def _flow_with_runs(tmp_path: Any, count: int = 3) -> FlowDatastore:
    store = FlowDatastore(ByteStorage(str(tmp_path / "store")), "F")
    for _ in range(count):
        run_id = store.new_run(RunRecord(flow="F", run_id="", created_at=1.7e9, user="ada"))
        store.finish_run(run_id, "succeeded")
    return store


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("run.json", b"garbage"),
        ("run.json", b'{"flow": "F", "run_id": "2", "created_at": "yesterday", "user": "a"}'),
        ("run.json", b'{"flow": "F", "run_id": "7", "created_at": 1, "user": "a"}'),
        ("end.json", b'{"status": "succeeded", "finished_at": [1]}'),
        ("end.json", b'{"flow": "F", "run_id": "2", "created_at": 1, "user": 3}'),
        ("end.json", b'{"flow": "F", "run_id": "7", "created_at": 1, "user": "a"}'),
        ("end.json", b"[]"),
    ],
)
def test_a_damaged_run_record_names_its_file(tmp_path: Any, name: str, content: bytes) -> None:
    store = _flow_with_runs(tmp_path)
    key = f"F/runs/2/{name}"
    if name == "run.json":
        # A finished run is read from its complete end record alone; the start record is
        # what a running run is read from.
        store.storage.delete("F/runs/2/end.json")
    store.storage.write(key, content)
    with pytest.raises(CorruptRecord) as info:
        store.run_record("2")
    assert info.value.url == store.storage.url(key)
    assert store.storage.url(key) in str(info.value) and "Fix:" in str(info.value)
    assert store.run_record("1").status == store.run_record("3").status == "succeeded"


def test_a_finished_run_reads_from_its_end_record_alone(tmp_path: Any) -> None:
    store = _flow_with_runs(tmp_path)
    store.storage.write("F/runs/2/run.json", b"garbage")
    assert store.run_record("2").status == "succeeded"


def test_a_truncated_manifest_names_its_file_and_listings_carry_on(
    tmp_path: Any, make_manifest: MakeManifest
) -> None:
    store = FlowDatastore(ByteStorage(str(tmp_path / "store")), "HelloFlow")
    good = make_manifest(task_id="7")
    store.write_manifest(good)
    store.write_manifest(make_manifest(task_id="8"))
    key = "HelloFlow/runs/3/train/8/1.manifest.json"
    data = store.storage.read(key)
    store.storage.write(key, data[: len(data) // 2])
    with pytest.raises(CorruptRecord, match=r"1\.manifest\.json"):
        store.read_manifest("3", "train", "8")
    found, damaged = store.read_manifests("3")
    assert found == [good]
    assert [e.url for e in damaged] == [store.storage.url(key)]
    with pytest.raises(CorruptRecord):
        store.manifests("3")


@pytest.mark.parametrize(
    "hint", [b"garbage", b"-5", b"99999999999999999999999", b"\xb2", "²".encode(), b"4000"]
)
def test_a_nonsense_latest_hint_is_ignored(tmp_path: Any, hint: bytes) -> None:
    store = _flow_with_runs(tmp_path)
    store.storage.write("F/latest", hint)
    assert store.latest_run_id() == "3"
    new = store.new_run(RunRecord(flow="F", run_id="", created_at=1.7e9, user="ada"))
    assert new == "4"
    assert store.storage.read("F/latest") == b"4"  # the nonsense was replaced
