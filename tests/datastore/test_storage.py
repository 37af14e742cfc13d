"""The storage conformance suite (``flowkit.testing.storage``, shipped for third-party backends)
run against every backend in ``conftest.BACKENDS``, plus what only some backends can show."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from flowkit.datastore import ByteStorage
from flowkit.datastore.backend import StorageBackend
from flowkit.datastore.storage import open_backend
from flowkit.errors import DatastoreError
from flowkit.testing.storage import StorageBackendTests


class TestEveryBackend(StorageBackendTests):
    """Local folders, memory:// (generic fsspec), SeaweedFS and moto (S3), and SQLite (a
    backend defined only in the tests), each chosen by its root URL's scheme."""

    @pytest.fixture
    def backend(self, storage_root: str) -> StorageBackend:
        return open_backend(storage_root)


def test_reopening_the_root_url_finds_the_objects(storage: ByteStorage) -> None:
    storage.write("k", b"v")
    assert ByteStorage(storage.root).read("k") == b"v"


def test_schemes_choose_their_backends(tmp_path: Path) -> None:
    from flowkit_sqlitestore import SqliteBackend

    from flowkit.datastore.generic import FsspecBackend
    from flowkit.datastore.local import LocalBackend
    from flowkit.datastore.s3 import S3Backend

    chosen = {
        str(tmp_path): LocalBackend,
        f"file://{tmp_path}": LocalBackend,
        "memory://somewhere": FsspecBackend,
        "s3://bucket/prefix": S3Backend,
        "s3a://bucket/prefix": S3Backend,
        f"sqlite://{tmp_path}/x.db": SqliteBackend,
    }
    for root, kind in chosen.items():
        assert type(ByteStorage(root).backend) is kind, root
    assert ByteStorage(str(tmp_path)).is_local
    assert not ByteStorage("memory://somewhere").is_local


def test_an_unknown_scheme_says_how_to_plug_one_in() -> None:
    with pytest.raises(DatastoreError, match="unknown URL scheme 'nosuch'") as info:
        ByteStorage("nosuch://x/y")
    assert "'datastore.nosuch'" in info.value.hint


def test_a_backend_that_cannot_be_loaded_names_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from importlib import metadata

    from flowkit.registry import PluginRegistry

    # An installed plugin whose module needs a missing library, declared with an extra.
    entry = metadata.EntryPoint(
        name="datastore.broken",
        value="flowkit_no_such_module:Backend [cloud]",
        group="flowkit.plugins",
    )
    fresh = PluginRegistry()
    monkeypatch.setattr(fresh, "_eps", lambda: {entry.name: entry})
    monkeypatch.setattr("flowkit.registry._REGISTRY", fresh)
    with pytest.raises(DatastoreError, match="cannot be loaded") as info:
        ByteStorage("broken://x")
    assert "[cloud]" in info.value.hint


# -- behaviour that needs a backend shared between processes ---------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_can_use_the_storage(shared_root: str) -> None:
    # Task workers are forks of the runner, which has already used the storage (on S3 that
    # means a client, its connection pool and fsspec's event-loop thread exist).
    storage = ByteStorage(shared_root)
    storage.write("before", b"parent")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            if storage.read("before") == b"parent" and storage.exists("before"):
                storage.write("child", b"from the child")
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert storage.read("child") == b"from the child"
    storage.write("after", b"the parent still works")
    assert storage.read("after") == b"the parent still works"


def test_claims_give_at_most_one_winner_without_conditional_writes(claims_root: str) -> None:
    storage = ByteStorage(claims_root)
    assert storage.write("k", b"first", exclusive=True) is True
    assert storage.write("k", b"second", exclusive=True) is False
    assert storage.read("k") == b"first"
    assert storage.list("") == ["k"]  # claim objects are not listed
    rounds, writers = 5, 6
    barrier = threading.Barrier(writers)
    wins: list[list[int]] = [[] for _ in range(rounds)]

    def claim(i: int) -> None:
        for r in range(rounds):
            barrier.wait()
            if storage.write(f"claim/{r}", f"writer {i}".encode(), exclusive=True):
                wins[r].append(i)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Contenders that see each other all withdraw, so a round may have no winner; never two.
    assert all(len(w) <= 1 for w in wins)
    for r, winners in enumerate(wins):
        if winners:
            assert storage.read(f"claim/{r}") == f"writer {winners[0]}".encode()
        else:
            assert not storage.exists(f"claim/{r}")


def test_local_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    storage = ByteStorage(str(tmp_path))
    storage.write("a/b", b"1")
    storage.write("a/b", b"2")
    storage.write("a/b", b"3", exclusive=True)
    assert os.listdir(tmp_path / "a") == ["b"]
