"""Conformance suite for ByteStorage, run against every backend in conftest.BACKENDS."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from flowkit.datastore import ByteStorage
from flowkit.errors import DatastoreError, ObjectNotFound


def test_write_then_read_returns_the_bytes(storage: ByteStorage) -> None:
    assert storage.write("a/b/c.bin", b"hello") is True
    data = storage.read("a/b/c.bin")
    assert data == b"hello"
    assert isinstance(data, bytearray)


def test_parts_are_stored_in_order(storage: ByteStorage) -> None:
    parts = [b"ab", memoryview(b"cd"), bytearray(b""), memoryview(bytearray(b"ef"))]
    storage.write("parts", parts)
    assert storage.read("parts") == b"abcdef"
    assert storage.size("parts") == 6


def test_non_byte_memoryviews_are_stored_as_their_raw_bytes(storage: ByteStorage) -> None:
    words = memoryview(bytearray(range(8))).cast("I")  # two 4-byte items
    storage.write("words", [words])
    assert storage.read("words") == bytes(range(8))


def test_on_chunk_sees_consecutive_slices_of_the_result(storage: ByteStorage) -> None:
    payload = os.urandom(20 << 20)  # spans several read chunks
    storage.write("big", payload)
    chunks: list[bytes] = []
    data = storage.read("big", on_chunk=lambda chunk: chunks.append(bytes(chunk)))
    assert data == payload
    assert len(chunks) > 1
    assert b"".join(chunks) == payload


def test_empty_object(storage: ByteStorage) -> None:
    storage.write("empty", b"")
    assert storage.exists("empty")
    assert storage.read("empty") == b""
    assert storage.size("empty") == 0


def test_overwrite_replaces_content(storage: ByteStorage) -> None:
    storage.write("k", b"first version")
    storage.write("k", b"second")
    assert storage.read("k") == b"second"


def test_exclusive_write_does_not_overwrite(storage: ByteStorage) -> None:
    assert storage.write("claim", b"mine", exclusive=True) is True
    assert storage.write("claim", b"yours", exclusive=True) is False
    assert storage.read("claim") == b"mine"


def test_write_new_skips_an_existing_object(storage: ByteStorage) -> None:
    # An exclusive write first: on S3 it learns whether If-None-Match works, which write_new
    # then uses (one conditional PUT instead of a HEAD and a PUT).
    assert storage.write("claimed", b"x", exclusive=True)
    assert storage.write_new("blob", [b"same ", b"bytes"]) is True
    assert storage.write_new("blob", b"other bytes") is False
    assert storage.read("blob") == b"same bytes"
    big = os.urandom(33 << 20)  # above S3's single-request size: checked before uploading
    assert storage.write_new("big", big) is True
    assert storage.write_new("big", big) is False
    assert storage.read("big") == big


def test_read_missing_raises_object_not_found_naming_the_key(storage: ByteStorage) -> None:
    with pytest.raises(ObjectNotFound) as info:
        storage.read("no/such/key")
    assert "no/such/key" in str(info.value)
    assert isinstance(info.value, KeyError)


def test_a_folder_is_not_an_object(storage: ByteStorage) -> None:
    storage.write("dir/file", b"x")
    assert not storage.exists("dir")
    with pytest.raises(ObjectNotFound):
        storage.read("dir")


def test_exists(storage: ByteStorage) -> None:
    storage.write("x/y", b"1")
    assert storage.exists("x/y")
    assert not storage.exists("x/z")


@pytest.mark.parametrize("count", [3, 20])  # below and above the list-instead-of-stat cutoff
def test_exists_many_returns_the_stored_subset(storage: ByteStorage, count: int) -> None:
    stored = {f"p/{i:02d}" for i in range(count) if i % 2 == 0}
    for key in stored:
        storage.write(key, b"x")
    storage.write("p/sub/deep", b"x")  # a sub-folder must not be mistaken for an object
    asked = [f"p/{i:02d}" for i in range(count)] + ["p/sub", "q/00", "p/00"]
    assert storage.exists_many(asked) == stored


def test_list_returns_sorted_immediate_children(storage: ByteStorage) -> None:
    for key in ["r/b", "r/a", "r/c/deep", "r/c/deeper/x", "other"]:
        storage.write(key, b"x")
    assert storage.list("r") == ["a", "b", "c"]
    assert storage.list("r/c") == ["deep", "deeper"]
    assert storage.list("") == ["other", "r"]


def test_list_of_missing_prefix_is_empty(storage: ByteStorage) -> None:
    assert storage.list("nothing/here") == []


def test_delete(storage: ByteStorage) -> None:
    storage.write("d", b"x")
    storage.delete("d")
    assert not storage.exists("d")
    with pytest.raises(ObjectNotFound):
        storage.delete("d")


def test_size_of_missing_key(storage: ByteStorage) -> None:
    with pytest.raises(ObjectNotFound):
        storage.size("missing")


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "./a", "a/"])
def test_invalid_keys_are_rejected(storage: ByteStorage, key: str) -> None:
    with pytest.raises(DatastoreError, match="invalid datastore key"):
        storage.write(key, b"x")


def test_bad_part_fails_before_anything_is_written(storage: ByteStorage) -> None:
    with pytest.raises(TypeError):
        storage.write("bad", [b"ok", 42])  # type: ignore[list-item]
    assert not storage.exists("bad")
    assert storage.list("") == []


def test_root_is_a_normalized_url(storage: ByteStorage, storage_root: str) -> None:
    assert "://" in storage.root
    assert not storage.root.endswith("/")
    storage.write("k", b"v")
    assert ByteStorage(storage.root).read("k") == b"v"
    assert storage.url("k") == storage.root + "/k"


def test_is_local(storage: ByteStorage, storage_root: str) -> None:
    assert storage.is_local == ("://" not in storage_root or storage_root.startswith("file://"))


# -- behaviour that needs a backend shared between threads or processes ----------------------


def test_concurrent_exclusive_writes_have_one_winner(shared_root: str) -> None:
    storage = ByteStorage(shared_root)
    # S3 servers serialize conditional writes of one key (SeaweedFS retries its lock once a
    # second), so fewer rounds keep the suite quick there.
    rounds, writers = (20, 8) if storage.is_local else (4, 6)
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
    assert [len(w) for w in wins] == [1] * rounds
    for r, winners in enumerate(wins):
        assert storage.read(f"claim/{r}") == f"writer {winners[0]}".encode()


def test_readers_never_see_a_partial_object(shared_root: str) -> None:
    storage = ByteStorage(shared_root)
    versions = [bytes([n]) * (4 << 20) for n in (1, 2)]
    storage.write("big", versions[0])
    stop = threading.Event()
    seen: list[bytes] = []

    def reader() -> None:
        while not stop.is_set():
            data = storage.read("big")
            if data not in versions:
                seen.append(bytes(data[:16]) + b"... len=%d" % len(data))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(30):
            storage.write("big", [versions[i % 2][: 1 << 20], versions[i % 2][1 << 20 :]])
    finally:
        stop.set()
        thread.join()
    assert seen == []


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
