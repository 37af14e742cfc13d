"""Run and task records: JSON round trips and malformed input."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from flowkit.datastore import ArtifactRef, ForeachFrame, RunEnd, RunRecord, TaskManifest
from flowkit.errors import CorruptObject

MakeManifest = Callable[..., TaskManifest]


def test_task_manifest_round_trip(make_manifest: MakeManifest) -> None:
    manifest = make_manifest()
    loaded = TaskManifest.from_json(manifest.to_json())
    assert loaded == manifest
    assert isinstance(loaded.artifacts["model"], ArtifactRef)
    assert isinstance(loaded.foreach_stack[0], ForeachFrame)
    assert loaded.pathspec == "HelloFlow/3/train/7"


def test_json_is_compact_and_sorted(make_manifest: MakeManifest) -> None:
    text = make_manifest().to_json().decode()
    assert ", " not in text and ": " not in text
    keys = list(json.loads(text))
    assert keys == sorted(keys)
    assert make_manifest().to_json() == make_manifest().to_json()


def test_defaults_and_unknown_keys(make_manifest: MakeManifest) -> None:
    raw = json.loads(make_manifest().to_json())
    for optional in ("artifacts", "foreach_stack", "logs", "plugin_data", "failure"):
        del raw[optional]
    raw["added_by_a_newer_version"] = True
    loaded = TaskManifest.from_json(json.dumps(raw).encode())
    assert loaded.artifacts == {} and loaded.logs == {} and loaded.failure is None


@pytest.mark.parametrize(
    "data",
    [b"not json", b"[1, 2]", b'{"flow": "F"}', b'{"artifacts": 3, "flow": "F"}'],
)
def test_malformed_manifests_are_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptObject):
        TaskManifest.from_json(data)


def test_run_record_round_trip_and_end_merge() -> None:
    record = RunRecord(
        flow="HelloFlow",
        run_id="4",
        created_at=1.0,
        user="ada",
        tags=["nightly"],
        parameters={"alpha": ArtifactRef(sha="cd" * 32, type="builtins.float", size=30)},
        parameter_values={"alpha": "0.5"},
        code_sha="ef" * 32,
        flow_file="hello.py",
        origin_run_id="3",
    )
    loaded = RunRecord.from_json(record.to_json())
    assert loaded == record
    assert loaded.status == "running" and loaded.finished_at is None
    assert loaded.pathspec == "HelloFlow/4"

    end = RunEnd.from_json(RunEnd(status="failed", finished_at=9.0, summary={"n": 3}).to_json())
    finished = loaded.with_end(end)
    assert (finished.status, finished.finished_at, finished.summary) == ("failed", 9.0, {"n": 3})
    assert finished.tags == ["nightly"]
    assert loaded.status == "running"  # with_end returns a copy


def test_artifact_ref_round_trip() -> None:
    ref = ArtifactRef(sha="01" * 32, type="numpy.ndarray", size=10)
    assert ArtifactRef.from_json(ref.to_json()) == ref
