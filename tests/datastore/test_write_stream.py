"""Streaming writes: an object copied from a file a chunk at a time, on every kind of root."""

from __future__ import annotations

import io

import pytest

from flowkit.datastore import ByteStorage


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_write_stream_stores_the_rest_of_the_file(tmp_path, kind):
    root = str(tmp_path / "root") if kind == "local" else f"memory://stream-{tmp_path.name}"
    storage = ByteStorage(root)
    source = io.BytesIO(b"skipped" + bytes(range(256)) * 1000)
    source.read(7)  # what was already read is not stored
    storage.write_stream("logs/stdout", source, chunk_size=1000)
    assert bytes(storage.read("logs/stdout")) == bytes(range(256)) * 1000
    assert storage.list("logs") == ["stdout"]  # no temporary object left beside it
