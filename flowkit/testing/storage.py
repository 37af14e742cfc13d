"""The conformance suite of datastore backends, for any implementation of
:class:`~flowkit.datastore.backend.StorageBackend`.

Subclass :class:`StorageBackendTests` in a test module and give it a ``backend`` fixture that
returns a fresh, empty backend (and cleans it up afterwards); pytest then runs every test of
the suite against it::

    import pytest
    from flowkit.testing.storage import StorageBackendTests

    class TestMyBackend(StorageBackendTests):
        @pytest.fixture
        def backend(self, tmp_path):
            return MyBackend(f"mine://{tmp_path}")

The tests go through :class:`~flowkit.datastore.storage.ByteStorage`, the layer the rest of
flowkit uses, so they check what flowkit relies on: whole objects, exclusive creation with one
winner, no partial reads, listings, sizes, deletes and moves, and the errors for missing
objects. Tests marked ``slow`` move tens of MiB.
"""

from __future__ import annotations

import io
import os
import threading

import pytest

from flowkit.datastore.backend import StorageBackend
from flowkit.datastore.storage import BytesLike, ByteStorage
from flowkit.errors import DatastoreError, ObjectNotFound


class StorageBackendTests:
    """Conformance tests of a storage backend; subclasses provide the ``backend`` fixture."""

    @pytest.fixture
    def backend(self) -> StorageBackend:
        """A fresh, empty backend (override in the subclass)."""
        pytest.fail(f"{type(self).__name__} must define a 'backend' fixture")

    @pytest.fixture
    def storage(self, backend: StorageBackend) -> ByteStorage:
        """The byte storage layer over the backend under test."""
        return ByteStorage(backend)

    # -- the interface ---------------------------------------------------------------------

    def test_implements_the_protocol(self, backend: StorageBackend) -> None:
        assert isinstance(backend, StorageBackend)
        assert "://" in backend.root and not backend.root.endswith("/")
        assert backend.concurrency >= 1

    def test_root_is_a_normalized_url(self, storage: ByteStorage) -> None:
        assert storage.url("k") == storage.root + "/k"
        assert storage.url("") == storage.root

    def test_check_accepts_a_usable_store(self, storage: ByteStorage) -> None:
        storage.check()
        storage.write("k", b"v")
        storage.check()

    # -- writing and reading ---------------------------------------------------------------

    def test_write_then_read_returns_the_bytes(self, storage: ByteStorage) -> None:
        assert storage.write("a/b/c.bin", b"hello") is True
        data = storage.read("a/b/c.bin")
        assert data == b"hello"
        assert isinstance(data, bytearray)

    def test_parts_are_stored_in_order(self, storage: ByteStorage) -> None:
        parts: list[BytesLike] = [
            b"ab",
            memoryview(b"cd"),
            bytearray(b""),
            memoryview(bytearray(b"ef")),
        ]
        storage.write("parts", parts)
        assert storage.read("parts") == b"abcdef"
        assert storage.size("parts") == 6

    def test_non_byte_memoryviews_are_stored_as_raw_bytes(self, storage: ByteStorage) -> None:
        words = memoryview(bytearray(range(8))).cast("I")  # two 4-byte items
        storage.write("words", [words])
        assert storage.read("words") == bytes(range(8))

    @pytest.mark.slow
    def test_on_chunk_sees_consecutive_slices_of_the_result(self, storage: ByteStorage) -> None:
        # Large enough that backends which read in pieces hand over several of them.
        payload = os.urandom(20 << 20)
        storage.write("big", payload)
        chunks: list[bytes] = []
        data = storage.read("big", on_chunk=lambda chunk: chunks.append(bytes(chunk)))
        assert data == payload
        assert b"".join(chunks) == payload

    def test_on_chunk_of_a_small_object(self, storage: ByteStorage) -> None:
        storage.write("small", b"tiny")
        chunks: list[bytes] = []
        assert storage.read("small", on_chunk=lambda c: chunks.append(bytes(c))) == b"tiny"
        assert b"".join(chunks) == b"tiny"

    def test_empty_object(self, storage: ByteStorage) -> None:
        storage.write("empty", b"")
        assert storage.exists("empty")
        assert storage.read("empty") == b""
        assert storage.size("empty") == 0

    def test_overwrite_replaces_content(self, storage: ByteStorage) -> None:
        storage.write("k", b"first version")
        storage.write("k", b"second")
        assert storage.read("k") == b"second"

    def test_exclusive_write_does_not_overwrite(self, storage: ByteStorage) -> None:
        assert storage.write("claim", b"mine", exclusive=True) is True
        assert storage.write("claim", b"yours", exclusive=True) is False
        assert storage.read("claim") == b"mine"

    @pytest.mark.slow
    def test_write_new_skips_an_existing_object(self, storage: ByteStorage) -> None:
        # An exclusive write first: a backend may learn from it how to make write_new cheap.
        assert storage.write("claimed", b"x", exclusive=True)
        assert storage.write_new("blob", [b"same ", b"bytes"]) is True
        assert storage.write_new("blob", b"other bytes") is False
        assert storage.read("blob") == b"same bytes"
        big = os.urandom(33 << 20)  # above S3's single-request size: checked before uploading
        assert storage.write_new("big", big) is True
        assert storage.write_new("big", big) is False
        assert storage.read("big") == big

    def test_write_stream_stores_the_rest_of_the_source(self, storage: ByteStorage) -> None:
        body = bytes(range(256)) * (4 * 4096)  # 4 MiB in 1 MiB chunks
        source = io.BytesIO(b"skipped" + body)
        source.read(7)  # what was already read is not stored
        storage.write_stream("logs/stdout", source, chunk_size=1 << 20)
        assert bytes(storage.read("logs/stdout")) == body
        assert storage.list("logs") == ["stdout"]  # nothing temporary left beside it
        storage.write_stream("logs/empty", io.BytesIO(b""))
        assert storage.read("logs/empty") == b""

    # -- missing objects and keys ----------------------------------------------------------

    def test_read_missing_raises_object_not_found_naming_the_key(
        self, storage: ByteStorage
    ) -> None:
        with pytest.raises(ObjectNotFound) as info:
            storage.read("no/such/key")
        assert "no/such/key" in str(info.value)
        assert isinstance(info.value, KeyError)

    def test_a_folder_is_not_an_object(self, storage: ByteStorage) -> None:
        storage.write("dir/file", b"x")
        assert not storage.exists("dir")
        with pytest.raises(ObjectNotFound):
            storage.read("dir")

    def test_exists(self, storage: ByteStorage) -> None:
        storage.write("x/y", b"1")
        assert storage.exists("x/y")
        assert not storage.exists("x/z")

    @pytest.mark.parametrize("count", [3, 20])  # below and above the list-instead-of-stat cutoff
    def test_exists_many_returns_the_stored_subset(self, storage: ByteStorage, count: int) -> None:
        stored = {f"p/{i:02d}" for i in range(count) if i % 2 == 0}
        for key in stored:
            storage.write(key, b"x")
        storage.write("p/sub/deep", b"x")  # a sub-folder must not be mistaken for an object
        asked = [f"p/{i:02d}" for i in range(count)] + ["p/sub", "q/00", "p/00"]
        assert storage.exists_many(asked) == stored

    def test_size_of_missing_key(self, storage: ByteStorage) -> None:
        with pytest.raises(ObjectNotFound):
            storage.size("missing")

    @pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "./a", "a/"])
    def test_invalid_keys_are_rejected(self, storage: ByteStorage, key: str) -> None:
        with pytest.raises(DatastoreError, match="invalid datastore key"):
            storage.write(key, b"x")

    def test_bad_part_fails_before_anything_is_written(self, storage: ByteStorage) -> None:
        with pytest.raises(TypeError):
            storage.write("bad", [b"ok", 42])  # type: ignore[list-item]
        assert not storage.exists("bad")
        assert storage.list("") == []

    # -- listing, deleting, moving ---------------------------------------------------------

    def test_list_returns_sorted_immediate_children(self, storage: ByteStorage) -> None:
        for key in ["r/b", "r/a", "r/c/deep", "r/c/deeper/x", "other"]:
            storage.write(key, b"x")
        assert storage.list("r") == ["a", "b", "c"]
        assert storage.list("r/c") == ["deep", "deeper"]
        assert storage.list("") == ["other", "r"]

    def test_list_of_missing_prefix_is_empty(self, storage: ByteStorage) -> None:
        assert storage.list("nothing/here") == []

    def test_listing_objects_only(self, backend: StorageBackend) -> None:
        storage = ByteStorage(backend)
        for key in ["f/one", "f/two", "f/sub/three"]:
            storage.write(key, b"x")
        assert sorted(backend.list("f", files_only=True)) == ["one", "two"]
        assert sorted(backend.list("f", files_only=False)) == ["one", "sub", "two"]

    def test_delete(self, storage: ByteStorage) -> None:
        storage.write("d", b"x")
        storage.delete("d")
        assert not storage.exists("d")
        with pytest.raises(ObjectNotFound):
            storage.delete("d")

    def test_move(self, storage: ByteStorage) -> None:
        storage.write("from/here", b"moved bytes")
        storage.write("to/there", b"replaced")
        storage.move("from/here", "to/there")
        assert storage.read("to/there") == b"moved bytes"
        assert not storage.exists("from/here")
        with pytest.raises(ObjectNotFound):
            storage.move("from/here", "to/elsewhere")

    # -- several writers and readers at once (threads sharing the backend) -----------------

    def test_concurrent_exclusive_writes_have_one_winner(self, storage: ByteStorage) -> None:
        rounds, writers = 4, 6
        barrier = threading.Barrier(writers)
        wins: list[list[int]] = [[] for _ in range(rounds)]

        errors: list[BaseException] = []

        def claim(i: int) -> None:
            try:
                for r in range(rounds):
                    barrier.wait(timeout=120)
                    if storage.write(f"claim/{r}", f"writer {i}".encode(), exclusive=True):
                        wins[r].append(i)
            except BaseException as exc:  # a writer that fails must not leave the rest waiting
                errors.append(exc)
                barrier.abort()

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        first = next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)), None)
        if first is not None:
            raise first
        assert not errors, errors
        assert [len(w) for w in wins] == [1] * rounds
        for r, winners in enumerate(wins):
            assert storage.read(f"claim/{r}") == f"writer {winners[0]}".encode()

    @pytest.mark.slow
    def test_readers_never_see_a_partial_object(self, storage: ByteStorage) -> None:
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
            for i in range(20):
                storage.write("big", [versions[i % 2][: 1 << 20], versions[i % 2][1 << 20 :]])
        finally:
            stop.set()
            thread.join()
        assert seen == []
