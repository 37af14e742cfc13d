"""Artifacts: lazy, one blob per value asked for, typed and sized without loading; errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flowkit import DataArtifact, Run, Task
from flowkit.datastore import ByteStorage, ContentStore, FlowDatastore
from flowkit.errors import ArtifactNotFound, MissingArtifactAttribute


@pytest.fixture
def blob_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the blobs read through the content store, in order."""
    reads: list[str] = []
    real_get = ContentStore.get

    def spy(self: ContentStore, digest: str) -> bytearray:
        reads.append(digest)
        return real_get(self, digest)

    monkeypatch.setattr(ContentStore, "get", spy)
    return reads


def test_opening_one_artifact_reads_only_its_blob(recorded: Path, blob_reads: list[str]) -> None:
    run = Run("LinearFlow/1")
    task = run["end"].task
    assert blob_reads == []  # run, step and task: records and manifests only
    artifact = task["label"]
    assert (artifact.type, artifact.size, artifact.loaded) == ("builtins.str", artifact.size, False)
    assert blob_reads == []
    assert task.data.label == "x=4"
    assert blob_reads == [artifact.sha]
    assert task.data.label == "x=4"  # kept: not read twice
    assert blob_reads == [artifact.sha]
    assert artifact.loaded


def test_a_large_artifact_is_not_loaded_until_asked(
    empty_root: Path, blob_reads: list[str]
) -> None:
    from flowkit.datastore import RunRecord, TaskManifest

    store = FlowDatastore(ByteStorage(str(empty_root)), "BigFlow")
    run_id = store.new_run(RunRecord(flow="BigFlow", run_id="", created_at=1.0, user="ada"))
    refs = store.save_artifacts({"big": np.ones(4_000_000), "small": 3})
    store.write_manifest(
        TaskManifest(
            flow="BigFlow",
            run_id=run_id,
            step="end",
            task_id="1",
            attempt=0,
            status="succeeded",
            started_at=1.0,
            finished_at=2.0,
            artifacts=refs,
        )
    )
    task = Task(f"BigFlow/{run_id}/end/1")
    text = repr(task.data) + task._repr_html_() + repr(task.artifacts.big)
    assert "numpy.ndarray" in text and "30.5 MiB" in text
    assert task.data.small == 3
    assert blob_reads == [refs["small"].sha]
    assert task.data.big.shape == (4_000_000,)
    assert Run(f"BigFlow/{run_id}").data.small == 3  # run.data: the end step's artifacts


def test_data_artifact_by_pathspec(recorded: Path) -> None:
    task = Run("ForeachFlow/1")["work"].task
    artifact = DataArtifact(f"{task.pathspec}/pair")
    assert artifact == task["pair"] == task.artifacts.pair
    assert (artifact.id, artifact.data, artifact.parent) == ("pair", (0, 0), task)
    assert artifact.type == "builtins.tuple" and artifact.size > 0 and len(artifact.sha) == 64
    assert artifact.created_at == artifact.finished_at == task.finished_at
    assert repr(artifact) == f"<DataArtifact {task.pathspec}/pair: tuple, {artifact.size} B>"
    assert artifact.to_dict() == {
        "name": "pair",
        "type": "builtins.tuple",
        "size": artifact.size,
        "sha": artifact.sha,
    }


def test_data_and_artifacts_views(recorded: Path) -> None:
    task = Run("ForeachFlow/1")["work"].task
    data = task.data
    assert "pair" in data and "nope" not in data
    assert data["pair"] == data.pair
    assert {"items", "pair", "width"} <= set(dir(data))
    assert hasattr(data, "pair") and not hasattr(data, "nope")
    assert not hasattr(data, "_ipython_canary_method_should_not_exist_")
    assert repr(data).startswith(f"<data of {task.pathspec}: items (list, ")
    assert "<table>" in data._repr_html_()
    assert [a.id for a in task] == ["items", "pair", "width"]
    assert task.artifacts.names() == ["items", "pair", "width"] and len(task.artifacts) == 3
    assert "pair" in task and "pair" in dir(task.artifacts)
    assert repr(task.artifacts).startswith("<artifacts of")


def test_missing_artifact_messages(recorded: Path) -> None:
    task = Run("ForeachFlow/1")["work"].task
    with pytest.raises(MissingArtifactAttribute) as info:
        task.data.piar
    message = info.value.format_message()
    assert f"the task {task.pathspec} has no artifact 'piar'" in message
    assert 'Did you mean "pair"?' in message
    assert "items, pair, width" in message
    assert isinstance(info.value, AttributeError) and isinstance(info.value, KeyError)
    with pytest.raises(ArtifactNotFound, match="items, pair, width"):
        task["nope"]
    with pytest.raises(ArtifactNotFound):
        task.data["nope"]
    with pytest.raises(ArtifactNotFound):
        DataArtifact(f"{task.pathspec}/nope")
    with pytest.raises(AttributeError):
        task.artifacts.nope
