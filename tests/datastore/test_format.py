"""The storage format version: written on every record and blob, checked by every reader."""

from __future__ import annotations

import json

import pytest

from flowkit import __version__
from flowkit.datastore import FORMAT_VERSION, FormatTooNew, TaskManifest, deserialize, serialize
from flowkit.datastore.format import check_readable, parse_version
from flowkit.errors import CorruptObject

# A task manifest as flowkit wrote it before the storage format was versioned (format 0).
V0_MANIFEST = {
    "flow": "HelloFlow",
    "run_id": "5",
    "step": "work",
    "task_id": "6",
    "attempt": 0,
    "status": "succeeded",
    "started_at": 1700000000.0,
    "finished_at": 1700000001.0,
    "artifacts": {},
    "foreach_stack": [{"step": "start", "index": 1, "num_splits": 3}],
    "parents": ["HelloFlow/5/start/1"],
    "next_steps": ["join"],
    "foreach_count": 2,
    "foreach_splits": None,
    "exception": {"type": "TaskTimeout", "message": "timed out", "traceback": "timed out"},
    "logs": {},
    "origin_pathspec": "HelloFlow/4/work/4",
    "extra": {
        "foreach": [
            {"step": "start", "index": 1, "num_splits": 3, "var": "items", "element": "ab" * 32}
        ],
        "foreach_var": "rows",
        "caught": "error",
        "log_origin": {"run_id": "4", "step": "work", "task_id": "4", "attempt": 0},
        "decorators": ["catch:var=error"],
        "resources": {"cpu": 2},
    },
}


def test_records_without_a_version_are_format_zero() -> None:
    assert check_readable({}, "run record") == (0, 0)
    assert check_readable({"format_version": "1.7"}, "run record") == (1, 7)


def test_a_newer_major_names_the_writer_and_asks_for_an_upgrade() -> None:
    with pytest.raises(FormatTooNew) as caught:
        check_readable({"format_version": "2.1", "written_by": "2.4.0"}, "run record")
    text = caught.value.format_message()
    assert "this run record was written by flowkit 2.4: upgrade" in text
    assert "Fix: upgrade flowkit" in text


@pytest.mark.parametrize("bad", ["1", "one.two", 1.0, None, "1.x"])
def test_a_malformed_version_is_a_corrupt_record(bad: object) -> None:
    with pytest.raises(CorruptObject, match="format_version"):
        parse_version(bad, "task manifest")


def test_manifests_record_their_format_and_writer(make_manifest) -> None:
    raw = json.loads(make_manifest().to_json())
    assert raw["format_version"] == FORMAT_VERSION and raw["written_by"] == __version__
    assert "extra" not in raw and "exception" not in raw


def test_a_manifest_of_a_newer_minor_format_loads(make_manifest) -> None:
    raw = json.loads(make_manifest().to_json())
    raw["format_version"] = "1.9"
    raw["a_field_of_1_9"] = {"x": 1}
    assert TaskManifest.from_json(json.dumps(raw).encode()).step == "train"


def test_a_manifest_of_a_newer_major_format_is_refused(make_manifest) -> None:
    raw = json.loads(make_manifest().to_json())
    raw.update(format_version="2.0", written_by="2.0.3", failure="a shape this flowkit ignores")
    with pytest.raises(FormatTooNew, match=r"written by flowkit 2\.0: upgrade"):
        TaskManifest.from_json(json.dumps(raw).encode())


def test_blob_headers_carry_the_format_and_a_newer_major_is_refused() -> None:
    data = b"".join(bytes(part) for part in serialize({"a": 1}).parts)
    assert (data[5], data[6]) == (1, 0)
    assert deserialize(data) == {"a": 1}
    older = bytearray(data)
    older[5:7] = b"\x00\x00"  # blobs written before the version was recorded
    assert deserialize(older) == {"a": 1}
    newer = bytearray(data)
    newer[5] = 2
    with pytest.raises(FormatTooNew, match="written by a newer flowkit: upgrade"):
        deserialize(newer)


def test_a_format_zero_manifest_is_read_with_typed_fields() -> None:
    manifest = TaskManifest.from_json(json.dumps(V0_MANIFEST).encode())
    assert manifest.format_version == "0.0" and manifest.written_by == ""
    [frame] = manifest.foreach_stack
    assert (frame.step, frame.index, frame.num_splits, frame.var) == ("start", 1, 3, "items")
    assert frame.element == "ab" * 32 and frame.items is None
    assert manifest.failure is not None
    assert (manifest.failure.kind, manifest.failure.type) == ("timeout", "TaskTimeout")
    assert manifest.caught == "error" and manifest.foreach_var == "rows"
    assert manifest.log_origin is not None and manifest.log_origin.task_id == "4"
    assert manifest.decorators == ["catch:var=error"] and manifest.resources == {"cpu": 2}
    assert manifest.plugin_data == {}
    # written back, it is a format-1 record
    assert json.loads(manifest.to_json())["format_version"] == FORMAT_VERSION


@pytest.mark.parametrize(
    ("exception", "kind"),
    [
        ({"type": "ValueError", "message": "signal SIGTERM in a user message"}, "exception"),
        ({"type": "TaskCrashed", "message": "killed by signal SIGTERM"}, "interrupted"),
        ({"type": "TaskCrashed", "message": "killed by signal SIGSEGV"}, "crashed"),
        ({"type": "Killed", "message": "stopped"}, "killed"),
        ({"type": "ArtifactWriteError", "message": "disk full"}, "storage"),
    ],
)
def test_format_zero_failures_get_a_kind(exception: dict, kind: str) -> None:
    raw = dict(V0_MANIFEST, exception={**exception, "traceback": ""}, status="failed")
    manifest = TaskManifest.from_json(json.dumps(raw).encode())
    assert manifest.failure is not None and manifest.failure.kind == kind
