"""Damaged blobs are quarantined and stored again; ``verify_flow`` finds and repairs damage.

Everything here runs on every storage backend (local, memory, and two S3 servers).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flowkit.datastore import ArtifactRef, ByteStorage, ContentStore, FlowDatastore, TaskManifest
from flowkit.datastore.manifest import RunRecord
from flowkit.datastore.verify import verify_flow
from flowkit.errors import BrokenArtifact, CorruptObject, ObjectNotFound

MakeManifest = Callable[..., TaskManifest]


def _damage(storage: ByteStorage, key: str) -> None:
    data = storage.read(key)
    data[0] ^= 0xFF
    storage.write(key, data)


def test_a_corrupt_blob_is_quarantined_and_the_next_write_stores_it_again(
    storage: ByteStorage,
) -> None:
    content = ContentStore(storage, "Flow/data")
    digest = content.put([b"precious data"])
    key = content.key(digest)
    _damage(storage, key)
    assert content.put([b"precious data"]) == digest  # today: skipped, the damage stays
    with pytest.raises(CorruptObject) as info:
        content.get(digest)
    assert info.value.url == storage.url(key)
    assert "quarantine" in str(info.value)
    assert not storage.exists(key)
    [fan] = storage.list("Flow/quarantine/data")
    [kept] = storage.list(f"Flow/quarantine/data/{fan}")
    assert kept.startswith(digest)
    content.put([b"precious data"])
    assert content.get(digest) == b"precious data"


def test_quarantine_keeps_a_good_blob(storage: ByteStorage) -> None:
    content = ContentStore(storage, "Flow/data")
    digest = content.put([b"fine"])
    assert content.quarantine(digest) is None
    assert content.get(digest) == b"fine"


def _flow(storage: ByteStorage, make_manifest: MakeManifest) -> tuple[FlowDatastore, str]:
    store = FlowDatastore(storage, "HelloFlow")
    alpha = store.save_artifact(0.5, "alpha")
    run_id = store.new_run(
        RunRecord(
            flow="HelloFlow",
            run_id="",
            created_at=1.7e9,
            user="ada",
            parameters={"alpha": alpha},
            flow_file="/src/hello.py",
        )
    )
    refs = store.save_artifacts({"model": {"w": [1, 2, 3]}, "alpha": 0.5})
    start = make_manifest(
        run_id=run_id, step="start", task_id="1", attempt=0, status="succeeded", parents=[],
        artifacts=refs, origin_pathspec=None, logs={}, foreach_stack=[],
    )  # fmt: skip
    end = make_manifest(
        run_id=run_id, step="end", task_id="2", attempt=0, status="succeeded",
        parents=[start.pathspec], artifacts=refs, origin_pathspec=None, logs={},
        foreach_stack=[],
    )  # fmt: skip
    store.write_manifest(start)
    store.write_manifest(end)
    store.finish_run(run_id, "succeeded")
    return store, run_id


def test_verify_finds_and_repairs_damage(storage: ByteStorage, make_manifest: MakeManifest) -> None:
    store, run_id = _flow(storage, make_manifest)
    assert verify_flow(store).problems == []
    end = store.read_manifest(run_id, "end", "2")
    model: ArtifactRef = end.artifacts["model"]
    blob = store.content.key(model.sha)
    _damage(storage, blob)
    manifest_key = f"HelloFlow/runs/{run_id}/start/1/0.manifest.json"
    storage.write(manifest_key, b'{"flow": "HelloFlow"')

    report = verify_flow(store, run_id)
    found = {p.kind: p for p in report.problems}
    assert set(found) == {"artifact", "task manifest"}
    assert found["artifact"].url == storage.url(blob)
    assert f"HelloFlow/{run_id}/end/2 (artifact model)" in found["artifact"].referrers
    assert "corrupt" in found["artifact"].reason
    assert found["task manifest"].url == storage.url(manifest_key)
    assert storage.exists(blob)  # without --repair nothing moves
    assert report.resume_command() == f"python /src/hello.py resume --origin-run-id {run_id}"

    repaired = verify_flow(store, run_id, repair=True)
    assert all(p.repaired and p.moved_to for p in repaired.problems)
    assert not storage.exists(blob) and not storage.exists(manifest_key)
    again = verify_flow(store, run_id)
    assert [(p.kind, p.reason) for p in again.problems] == [("artifact", "missing")]


def test_a_damaged_artifact_names_itself_its_producer_and_its_blob(
    storage: ByteStorage, make_manifest: MakeManifest
) -> None:
    store, run_id = _flow(storage, make_manifest)
    end = store.read_manifest(run_id, "end", "2")
    url = storage.url(store.content.key(end.artifacts["model"].sha))
    _damage(storage, store.content.key(end.artifacts["model"].sha))
    with pytest.raises(BrokenArtifact) as info:
        store.load_artifact(end.artifacts["model"], name="model", referrers=[end])
    error = info.value
    # end passed "model" on unchanged from start: start produced it.
    producer = f"HelloFlow/{run_id}/start/1"
    assert (error.artifact, error.producer, error.url) == ("model", producer, url)
    text = str(error)
    assert "'model'" in text and f"HelloFlow/{run_id}/start/1" in text and url in text
    assert f"python /src/hello.py resume --origin-run-id {run_id}" in text
    with pytest.raises(BrokenArtifact, match="is missing"):  # quarantined by the first read
        store.load_artifact(end.artifacts["model"], name="model", referrers=[end])
    with pytest.raises(ObjectNotFound):  # without context: the plain error, as before
        store.load_artifact(end.artifacts["model"])
