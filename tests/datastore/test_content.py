"""ContentStore: hashing, deduplication and corruption detection, on every backend."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from flowkit.datastore import ByteStorage, ContentStore
from flowkit.errors import CorruptObject, ObjectNotFound


@pytest.fixture
def content(storage: ByteStorage) -> ContentStore:
    return ContentStore(storage, "Flow/data")


def _all_blobs(content: ContentStore) -> list[str]:
    storage = content.storage
    return [
        f"{fan}/{name}"
        for fan in storage.list(content.prefix)
        for name in storage.list(f"{content.prefix}/{fan}")
    ]


def test_put_returns_sha256_of_the_concatenated_parts(content: ContentStore) -> None:
    digest = content.put([b"hello ", memoryview(b"world")])
    assert digest == hashlib.sha256(b"hello world").hexdigest()
    assert content.get(digest) == b"hello world"
    assert content.storage.exists(f"Flow/data/{digest[:2]}/{digest}")


def test_identical_content_is_stored_once(content: ContentStore) -> None:
    first = content.put([b"same bytes"])
    second = content.put([b"same ", b"bytes"])
    assert first == second
    assert _all_blobs(content) == [f"{first[:2]}/{first}"]


def test_put_file_stores_a_file_in_chunks_once(content: ContentStore, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    (tmp_path / "file.bin").write_bytes(data)
    digest = content.put_file(str(tmp_path / "file.bin"), chunk_size=65_536)
    assert digest == hashlib.sha256(data).hexdigest() == content.put([data])
    assert content.get(digest) == data
    assert content.put_file(str(tmp_path / "file.bin")) == digest
    assert _all_blobs(content) == [f"{digest[:2]}/{digest}"]


def test_second_put_does_not_rewrite_the_blob(tmp_path: Path) -> None:
    content = ContentStore(ByteStorage(str(tmp_path)), "F/data")
    digest = content.put([b"payload"])
    blob = tmp_path / "F" / "data" / digest[:2] / digest
    before = blob.stat()
    content.put([b"payload"])
    content.put_many([[b"payload"]])
    after = blob.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_put_many_of_many_blobs_and_get_many(content: ContentStore) -> None:
    # Enough blobs for the batched existence check; a third of them stored beforehand.
    blobs = [[f"blob {i}".encode()] for i in range(24)]
    stored = [content.put(blob) for blob in blobs[::3]]
    digests = content.put_many(blobs)
    assert digests[::3] == stored
    assert content.exists_many(digests) == set(digests)
    fetched = content.get_many(digests + digests[:2])
    assert list(fetched) == digests
    assert [bytes(fetched[d]) for d in digests] == [b[0] for b in blobs]


def test_put_many(content: ContentStore) -> None:
    existing = content.put([b"old"])
    digests = content.put_many([[b"old"], [b"new ", b"one"], [b"new one"], [b""]])
    assert digests[0] == existing
    assert digests[1] == digests[2] == hashlib.sha256(b"new one").hexdigest()
    assert digests[3] == hashlib.sha256(b"").hexdigest()
    assert content.exists_many(digests) == set(digests)
    assert len(_all_blobs(content)) == 3
    assert content.get(digests[1]) == b"new one"


def test_exists_many(content: ContentStore) -> None:
    stored = content.put([b"a"])
    absent = hashlib.sha256(b"b").hexdigest()
    assert content.exists_many([stored, absent]) == {stored}
    assert content.exists(stored)
    assert not content.exists(absent)


def test_missing_blob_raises_object_not_found(content: ContentStore) -> None:
    digest = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(ObjectNotFound, match=digest):
        content.get(digest)


def test_malformed_digest_is_not_found(content: ContentStore) -> None:
    with pytest.raises(ObjectNotFound, match="not a blob name"):
        content.get("../../etc/passwd")


def test_corrupted_blob_is_refused(content: ContentStore) -> None:
    digest = content.put([b"precious data"])
    key = f"Flow/data/{digest[:2]}/{digest}"
    damaged = content.storage.read(key)
    damaged[3] ^= 0xFF
    content.storage.write(key, damaged)
    with pytest.raises(CorruptObject) as info:
        content.get(digest)
    message = str(info.value)
    assert content.storage.url(key) in message
    assert "corrupt" in message and "will not be loaded" in message


@pytest.mark.parametrize("position", [0, 9 << 20, -1])  # first, middle and last read chunk
def test_corruption_is_detected_in_any_chunk_of_a_large_blob(
    content: ContentStore, position: int
) -> None:
    payload = os.urandom(20 << 20)
    digest = content.put([payload[:5], payload[5:]])
    assert content.get(digest) == payload
    key = content.key(digest)
    damaged = bytearray(payload)
    damaged[position] ^= 0x80
    content.storage.write(key, damaged)
    with pytest.raises(CorruptObject):
        content.get(digest)


def test_flipped_byte_on_disk_is_detected(tmp_path: Path) -> None:
    content = ContentStore(ByteStorage(str(tmp_path)), "F/data")
    digest = content.put([bytes(range(256)) * 100])
    blob = tmp_path / "F" / "data" / digest[:2] / digest
    raw = bytearray(blob.read_bytes())
    raw[12345] ^= 0x01
    blob.write_bytes(raw)
    with pytest.raises(CorruptObject, match=digest):
        content.get(digest)
