"""Streaming writes: an object copied from a file a chunk at a time, on every backend."""

from __future__ import annotations

import io

from flowkit.datastore import ByteStorage


def test_write_stream_stores_the_rest_of_the_file(storage_root: str) -> None:
    storage = ByteStorage(storage_root)
    body = bytes(range(256)) * (12 * 4096)  # 12 MiB: several parts on S3
    source = io.BytesIO(b"skipped" + body)
    source.read(7)  # what was already read is not stored
    storage.write_stream("logs/stdout", source, chunk_size=1 << 20)
    assert bytes(storage.read("logs/stdout")) == body
    assert storage.list("logs") == ["stdout"]  # no temporary object left beside it
