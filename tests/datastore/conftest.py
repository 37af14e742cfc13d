"""Storage backends every datastore test runs against.

To run the whole datastore suite on another backend, add one entry to ``BACKENDS``: a function
of the test's ``request`` and ``tmp_path`` that yields a fresh, empty root URL for one test (and
cleans it up afterwards). The S3 entries use real servers on 127.0.0.1 (``tests/s3servers.py``),
reached the way users reach S3: through the standard ``AWS_*`` environment variables. The
``sqlite`` entry is a backend defined only in the tests (``tests/fixtures/flowkit_sqlitestore``),
registered for its URL scheme the way a plugin's entry point would be.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest

from flowkit.datastore import (
    ArtifactRef,
    ByteStorage,
    Failure,
    ForeachFrame,
    RunRecord,
    TaskManifest,
)
from flowkit.registry import registry

SQLITE_STORE = Path(__file__).resolve().parents[1] / "fixtures" / "flowkit_sqlitestore"
sys.path.insert(0, str(SQLITE_STORE))
from flowkit_sqlitestore import SqliteBackend  # noqa: E402

# What the package's 'datastore.sqlite' entry point does once it is installed.
registry().register("datastore", "sqlite", SqliteBackend)

RootFactory = Callable[[pytest.FixtureRequest, Path], Iterator[str]]


def _local_root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield str(tmp_path / "store")


def _memory_root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    root = f"memory://flowkit-test-{uuid.uuid4().hex}"
    yield root
    fs, path = fsspec.core.url_to_fs(root)
    if fs.exists(path):
        fs.rm(path, recursive=True)


def _sqlite_root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield f"sqlite://{tmp_path}/store.db"


def _s3_root(server_fixture: str, **settings: str) -> RootFactory:
    def root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
        server = request.getfixturevalue(server_fixture)
        monkeypatch = request.getfixturevalue("monkeypatch")
        for name, value in {**server.aws_variables(), **settings}.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        prefix = f"test-{uuid.uuid4().hex[:12]}"
        yield server.url(prefix)
        server.clear(prefix)

    return root


BACKENDS: dict[str, RootFactory] = {
    "local": _local_root,
    "memory": _memory_root,
    "sqlite": _sqlite_root,
    "seaweedfs": _s3_root("seaweedfs"),
    "moto": _s3_root("moto_s3"),
}
# Backends that several processes can share (memory:// lives inside one process).
SHARED_BACKENDS = ["local", "seaweedfs", "moto", "sqlite"]
# S3 without If-None-Match: exclusive writes fall back to claim objects.
CLAIMS_BACKEND: RootFactory = _s3_root("moto_s3", FLOWKIT_S3_CONDITIONAL_WRITES="off")


@pytest.fixture(params=sorted(BACKENDS))
def storage_root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty root URL on each backend."""
    yield from BACKENDS[request.param](request, tmp_path)


@pytest.fixture
def storage(storage_root: str) -> ByteStorage:
    """A :class:`ByteStorage` over a fresh root on each backend."""
    return ByteStorage(storage_root)


@pytest.fixture(params=SHARED_BACKENDS)
def shared_root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh root URL on each backend that separate processes can share."""
    yield from BACKENDS[request.param](request, tmp_path)


@pytest.fixture
def claims_root(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh S3 root whose exclusive writes use claim objects instead of If-None-Match."""
    yield from CLAIMS_BACKEND(request, tmp_path)


def _make_manifest(**changes: Any) -> TaskManifest:
    values: dict[str, Any] = dict(
        flow="HelloFlow",
        run_id="3",
        step="train",
        task_id="7",
        attempt=1,
        status="failed",
        started_at=1700000000.25,
        finished_at=1700000003.5,
        artifacts={"model": ArtifactRef(sha="ab" * 32, type="builtins.dict", size=120)},
        foreach_stack=[ForeachFrame(step="start", index=2, num_splits=5)],
        parents=["HelloFlow/3/start/1"],
        next_steps=["join"],
        foreach_count=None,
        failure=Failure(kind="exception", type="ValueError", message="bad", traceback="Tb ..."),
        logs={"stdout": 12},
        origin_pathspec="HelloFlow/2/train/7",
        plugin_data={"plugin": {"k": [1, 2]}},
    )
    values.update(changes)
    return TaskManifest(**values)


def _make_run_record(**changes: Any) -> RunRecord:
    values: dict[str, Any] = dict(
        flow="HelloFlow", run_id="", created_at=100.0, user="ada", flow_file="hello.py"
    )
    values.update(changes)
    return RunRecord(**values)


@pytest.fixture
def make_manifest() -> Callable[..., TaskManifest]:
    """Build a fully populated TaskManifest; keyword arguments override fields."""
    return _make_manifest


@pytest.fixture
def make_run_record() -> Callable[..., RunRecord]:
    """Build a start RunRecord of HelloFlow; keyword arguments override fields."""
    return _make_run_record
