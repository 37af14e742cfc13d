"""The streaming upload behind parquet saves: blocks go to S3 from a thread while the encoder
goes on, the hash covers every byte, and a failure publishes nothing (real SeaweedFS)."""

from __future__ import annotations

import hashlib
import os

import pytest
import s3fs

from flowkit.catalog.upload import WRITE_BLOCK, HashingSink


def _fs(server, secret: str | None = None) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(
        key=server.access_key,
        secret=secret or server.secret_key,
        client_kwargs={"endpoint_url": server.endpoint, "region_name": "us-east-1"},
        skip_instance_cache=True,
    )


def _pieces(data: bytes, size: int = 70_001) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_many_blocks_arrive_whole_and_hashed(seaweedfs):
    fs = _fs(seaweedfs)
    path = f"{seaweedfs.bucket}/upload/many/data.bin"
    data = os.urandom(2 * WRITE_BLOCK + 123_457)  # three parts, the last one short
    sink = HashingSink(fs, path)
    for piece in _pieces(data):
        assert sink.write(piece) == len(piece)
    assert sink.tell() == len(data)
    sink.finish()
    assert fs.cat_file(path) == data
    assert sink.hexdigest() == hashlib.sha256(data).hexdigest()
    assert not sink.failed_io


def test_nothing_written_is_an_empty_file(seaweedfs):
    fs = _fs(seaweedfs)
    path = f"{seaweedfs.bucket}/upload/empty/data.bin"
    sink = HashingSink(fs, path)
    sink.finish()
    assert fs.cat_file(path) == b""
    assert sink.hexdigest() == hashlib.sha256(b"").hexdigest()


def test_abandoned_after_parts_were_sent_keeps_the_old_object(seaweedfs):
    """The encoder fails after whole parts went up: the multipart upload is aborted, the
    object written before stays as it was."""
    fs = _fs(seaweedfs)
    path = f"{seaweedfs.bucket}/upload/old/data.bin"
    fs.pipe_file(path, b"the old file")
    sink = HashingSink(fs, path)
    for piece in _pieces(os.urandom(2 * WRITE_BLOCK + 10)):
        sink.write(piece)
    sink.abandon()
    fs.invalidate_cache()
    assert fs.cat_file(path) == b"the old file"
    assert not sink.failed_io  # the data failed, not the store


def test_a_failing_store_is_raised_to_the_writer(seaweedfs):
    """The upload thread's error (here: the server refuses the signature) comes back to the
    encoder's thread, marked as the store's failure, and nothing is published."""
    fs = _fs(seaweedfs, secret="not-the-secret")
    path = f"{seaweedfs.bucket}/upload/refused/data.bin"
    sink = HashingSink(fs, path)
    with pytest.raises(PermissionError):
        for piece in _pieces(os.urandom(3 * WRITE_BLOCK)):
            sink.write(piece)
        sink.finish()
    assert sink.failed_io
    sink.abandon()
    assert not _fs(seaweedfs).exists(path)


_FILE_LIMIT_SAVE = r"""
import resource, signal, sys
import numpy as np, pandas as pd
from flowkit.catalog import CatalogError, TaskCatalog

rng = np.random.default_rng(1)
frame = pd.DataFrame({"a": rng.random(1_500_000), "b": rng.random(1_500_000)})  # 24 MB
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
try:
    if sys.argv[2] == "table":
        TaskCatalog().save("table", frame)
    else:
        TaskCatalog().save("blob", frame.to_numpy().tobytes())
except CatalogError as exc:
    print(exc)
    sys.exit(3)
"""


@pytest.mark.parametrize(("dataset", "file"), [("table", "data.parquet"), ("blob", "blob.bin")])
def test_a_local_save_failing_midway_keeps_the_old_file_and_leaves_no_part(tmp_path, dataset, file):
    """The disk refuses a write past 6 MiB (a file-size limit, the way a full disk would),
    streaming parquet or writing bytes: the dataset's error is raised, the file saved before is
    intact, and no hidden part file stays behind."""
    import subprocess
    import sys

    folder = tmp_path / "files"
    folder.mkdir()
    (folder / file).write_bytes(b"the old file")
    catalog = (
        '[datasets.table]\ntype = "parquet"\nlocation = "files/"\n'
        '[datasets.blob]\ntype = "bytes"\nlocation = "files/blob.bin"\n'
    )
    (tmp_path / "catalog.toml").write_text(catalog)
    env = dict(os.environ, FLOWKIT_CATALOG=str(tmp_path / "catalog.toml"))
    env.pop("FLOWKIT_PROFILE", None)
    done = subprocess.run(
        [sys.executable, "-c", _FILE_LIMIT_SAVE, str(WRITE_BLOCK + 2**20), dataset],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"dataset {dataset!r}" in done.stdout and "cannot write" in done.stdout
    assert (folder / file).read_bytes() == b"the old file"
    assert sorted(p.name for p in folder.iterdir()) == [file]


def test_a_local_save_replaces_the_file_whole(tmp_path):
    fs = __import__("fsspec").filesystem("file")
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    data = os.urandom(WRITE_BLOCK + 17)
    sink = HashingSink(fs, str(target))
    for piece in _pieces(data):
        sink.write(piece)
    assert target.read_bytes() == b"old"  # nothing visible before the end
    sink.finish()
    assert target.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]
