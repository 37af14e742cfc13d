"""The client reads every store the datastore supports the same way (no code path per backend).

A small run is written through ``FlowDatastore`` on each backend and read back through the
client. The S3 backends use the real servers of ``tests/conftest.py``; the tests fail, saying why,
where those cannot start.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from flowkit.client import ClientContext
from flowkit.datastore import ByteStorage, FlowDatastore, ForeachFrame, RunRecord, TaskManifest
from flowkit.errors import DatastoreError


def _s3_root(request: pytest.FixtureRequest, server_fixture: str) -> Iterator[str]:
    server = request.getfixturevalue(server_fixture)
    monkeypatch = request.getfixturevalue("monkeypatch")
    for name, value in server.aws_variables().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    prefix = f"client-{uuid.uuid4().hex[:12]}"
    yield server.url(prefix)
    server.clear(prefix)


@pytest.fixture(params=["local", "memory", "seaweedfs", "moto_s3"])
def root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty datastore root on each backend."""
    if request.param == "local":
        yield str(tmp_path / "ds")
    elif request.param == "memory":
        url = f"memory://client-{uuid.uuid4().hex}"
        yield url
        fs, path = fsspec.core.url_to_fs(url)
        if fs.exists(path):
            fs.rm(path, recursive=True)
    else:
        yield from _s3_root(request, request.param)


def _write_run(root: str) -> str:
    store = FlowDatastore(ByteStorage(root), "StoreFlow")
    params = store.save_artifacts({"alpha": 0.5})
    record = RunRecord(
        flow="StoreFlow",
        run_id="",
        created_at=100.0,
        user="ada",
        tags=["given"],
        parameters=params,
        parameter_values={"alpha": "0.5"},
    )
    run_id = store.new_run(record)
    for task_id, index in (("2", 0), ("3", 1)):
        refs = dict(params, score=store.save_artifact(index * 10))
        store.write_log(run_id, "train", task_id, 0, "stdout", f"split {index}\n".encode())
        store.write_manifest(
            TaskManifest(
                flow="StoreFlow",
                run_id=run_id,
                step="train",
                task_id=task_id,
                attempt=0,
                status="succeeded",
                started_at=101.0 + index,
                finished_at=102.0 + index,
                artifacts=refs,
                foreach_stack=[ForeachFrame("start", index, 2)],
                logs={"stdout": 8},
            )
        )
    store.finish_run(run_id, "failed", 110.0)
    return run_id


def test_the_client_reads_every_backend_alike(root: str) -> None:
    run_id = _write_run(root)
    context = ClientContext(root)
    flow = context.flow("StoreFlow")
    run = flow.latest_run
    assert run is not None and run.id == run_id and run.status == "failed"
    assert run.parameters == {"alpha": 0.5}
    assert run.duration == 10.0
    assert [t.data.score for t in run["train"]] == [0, 10]
    assert [t.stdout for t in run["train"]] == ["split 0\n", "split 1\n"]
    task = context.task(f"StoreFlow/{run_id}/train/3")
    assert task.index == 1 and task["score"].data == 10
    run.add_tag("prod")
    run.remove_tag("given")
    assert context.run(f"StoreFlow/{run_id}").user_tags == {"prod"}
    assert [r.id for r in flow.runs("prod")] == [run_id]
    assert flow.to_frame().loc[run_id, "alpha"] == 0.5


def test_an_empty_root_is_reported(root: str) -> None:
    with pytest.raises(DatastoreError, match="there is no datastore at"):
        ClientContext(root).flow("StoreFlow")
