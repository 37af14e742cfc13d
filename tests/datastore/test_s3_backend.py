"""What only the S3 backend does, against real servers on 127.0.0.1: conditional-write probing,
multipart streaming without whole copies, retries of transient failures, and clear errors.

The behaviour every backend shares is in the conformance suite (``test_storage.py`` and the
other files here), which also runs against SeaweedFS and moto.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Iterator

import pytest
from s3servers import FlakyProxy, S3Server, free_ports

from flowkit.datastore import ByteStorage, ContentStore
from flowkit.datastore.s3 import S3Backend
from flowkit.errors import (
    BucketNotFound,
    CredentialsNotFound,
    DatastoreAccessDenied,
    DatastoreError,
    DatastoreUnavailable,
    EndpointUnreachable,
)
from flowkit.settings import Settings, load_settings

pytest.importorskip("s3fs")


@pytest.fixture(params=["seaweedfs", "moto_s3"])
def server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """Each server, with the test process's AWS variables pointing at it."""
    server: S3Server = request.getfixturevalue(request.param)
    for name, value in server.aws_variables().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return server


@pytest.fixture
def root(server: S3Server) -> Iterator[str]:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield server.url(prefix)
    server.clear(prefix)


def _settings(**values: object) -> Settings:
    return load_settings().with_overrides(**values)


def test_conditional_writes_are_detected_on_both_servers(root: str) -> None:
    remote = ByteStorage(root).backend
    assert isinstance(remote, S3Backend)
    assert remote._conditional_writes_work() is True
    assert ByteStorage(root).list("") == []  # the probe left nothing visible behind


def test_a_long_stream_goes_up_in_parts(root: str) -> None:
    # 40 MiB read from a file 1 MiB at a time: more than one request may carry, so a multipart
    # upload (16 + 16 + 8 MiB) sent while the source is being read; nothing is visible before.
    body = os.urandom(40 << 20)
    storage = ByteStorage(root)
    storage.write_stream("logs/stdout", io.BytesIO(body), chunk_size=1 << 20)
    assert storage.read("logs/stdout") == body
    assert storage.list("logs") == ["stdout"]


def test_a_failed_stream_leaves_no_object(root: str, server: S3Server) -> None:
    def broken() -> bytes:
        raise OSError("the source broke")

    class Source(io.RawIOBase):
        sent = 0

        def read(self, size: int = -1) -> bytes:
            self.sent += 1
            if self.sent > 40:  # past the single-request limit: a multipart upload is open
                broken()
            return b"x" * (1 << 20)

    storage = ByteStorage(root)
    with pytest.raises(DatastoreError, match="the source broke"):
        storage.write_stream("logs/stderr", Source(), chunk_size=1 << 20)
    assert not storage.exists("logs/stderr")
    prefix = root.removeprefix(f"s3://{server.bucket}/")
    uploads = server.client().list_multipart_uploads(Bucket=server.bucket, Prefix=prefix)
    assert uploads.get("Uploads", []) == []  # the parts sent were dropped


def test_large_objects_stream_without_a_whole_copy(root: str) -> None:
    # 72 MiB in two parts: above the single-request limit, so a multipart upload of 16 MiB
    # parts and parallel ranged GETs. Neither direction may hold a second copy of the data.
    size = 72 << 20
    parts = [memoryview(os.urandom(size // 2)), memoryview(bytearray(os.urandom(size // 2)))]
    storage = ByteStorage(root)
    tracemalloc.start()
    try:
        storage.write("big", parts)
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        chunks: list[int] = []
        data = storage.read("big", on_chunk=lambda chunk: chunks.append(len(chunk)))
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert data == b"".join(parts)
    assert sum(chunks) == size and len(chunks) > 1  # fed in order, part by part
    assert write_peak < size // 4, f"writing held {write_peak >> 20} MiB"
    assert read_peak < size + size // 4, f"reading held {read_peak >> 20} MiB"


def test_large_exclusive_writes(root: str) -> None:
    storage = ByteStorage(root)
    big = os.urandom(33 << 20)  # a multipart upload completed with If-None-Match
    assert storage.write("big", big, exclusive=True) is True
    assert storage.write("big", b"small", exclusive=True) is False
    assert storage.write("big", big[::-1], exclusive=True) is False
    assert storage.read("big") == big


def test_an_existing_blob_is_not_uploaded_again(root: str, server: S3Server) -> None:
    content = ContentStore(ByteStorage(root), "F/data")
    digest = content.put([b"payload"])
    key = f"{root.removeprefix(f's3://{server.bucket}/')}/F/data/{digest[:2]}/{digest}"
    before = server.client().head_object(Bucket=server.bucket, Key=key)["LastModified"]
    time.sleep(1.1)  # LastModified has a resolution of one second
    assert content.put_many([[b"payload"], [b"other"]])[0] == digest
    after = server.client().head_object(Bucket=server.bucket, Key=key)["LastModified"]
    assert after == before


# -- retries ------------------------------------------------------------------------------------


@pytest.fixture
def flaky(moto_s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlakyProxy]:
    proxy = FlakyProxy(moto_s3.endpoint)
    for name, value in moto_s3.aws_variables().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
    yield proxy
    proxy.close()


@pytest.mark.parametrize(("status", "code"), [(500, "InternalError"), (503, "SlowDown")])
def test_transient_errors_are_retried(
    flaky: FlakyProxy, moto_s3: S3Server, status: int, code: str
) -> None:
    root = moto_s3.url(f"flaky-{uuid.uuid4().hex[:8]}")
    storage = ByteStorage(root, _settings(s3_max_attempts=3))
    storage.check()
    flaky.fail(1, status, code)
    storage.write("k", b"value")
    flaky.fail(1, status, code)
    assert storage.read("k") == b"value"
    flaky.fail(1, status, code)
    assert storage.exists("k")
    assert flaky.injected == 3


def test_timeouts_are_retried(flaky: FlakyProxy, moto_s3: S3Server) -> None:
    settings = _settings(s3_max_attempts=3, s3_timeout=1.0)
    storage = ByteStorage(moto_s3.url(f"slow-{uuid.uuid4().hex[:8]}"), settings)
    storage.write("k", b"value")
    flaky.delay(1, 2.5)
    assert storage.read("k") == b"value"
    assert flaky.injected == 1


def test_a_body_cut_short_is_read_again(flaky: FlakyProxy, moto_s3: S3Server) -> None:
    storage = ByteStorage(moto_s3.url(f"cut-{uuid.uuid4().hex[:8]}"), _settings(s3_max_attempts=3))
    small, large = os.urandom(1000), os.urandom(40 << 20)  # one GET; three ranged GETs
    storage.write("small", small)
    storage.write("large", large)
    flaky.cut(1)
    assert storage.read("small") == small
    flaky.cut(2)
    assert storage.read("large") == large
    assert flaky.injected == 3


def test_an_exclusive_write_whose_answer_was_lost_is_still_ours(
    flaky: FlakyProxy, moto_s3: S3Server
) -> None:
    storage = ByteStorage(moto_s3.url(f"lost-{uuid.uuid4().hex[:8]}"), _settings(s3_max_attempts=3))
    storage.write("warm-up", b"x", exclusive=True)  # the conditional-write probe, unfaulted
    flaky.drop(1)  # the server creates the object, the answer is lost, the retry gets 412
    assert storage.write("run.json", b"mine", exclusive=True) is True
    assert flaky.injected == 1
    assert storage.write("run.json", b"yours", exclusive=True) is False
    assert storage.read("run.json") == b"mine"


def test_errors_that_persist_end_in_one_clear_error(flaky: FlakyProxy, moto_s3: S3Server) -> None:
    storage = ByteStorage(moto_s3.url("persist"), _settings(s3_max_attempts=2))
    flaky.fail(100, 503, "SlowDown")
    with pytest.raises(DatastoreUnavailable, match="kept failing") as info:
        storage.write("k", b"value")
    assert "resume" in info.value.hint
    assert flaky.injected == 2, flaky.log  # exactly the configured attempts


# -- errors that say what to fix ----------------------------------------------------------------


def test_missing_bucket(server: S3Server) -> None:
    with pytest.raises(BucketNotFound, match="'no-such-bucket-here' does not exist") as info:
        ByteStorage("s3://no-such-bucket-here/flowkit").check()
    assert "aws s3 mb s3://no-such-bucket-here" in info.value.hint


def test_refused_credentials(seaweedfs: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    # moto accepts any credentials; SeaweedFS checks signatures.
    for name, value in seaweedfs.aws_variables().items():
        monkeypatch.setenv(name, value) if value else monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(DatastoreAccessDenied, match="secret key does not match") as info:
        ByteStorage(seaweedfs.url("x")).check()
    assert "AWS_SECRET_ACCESS_KEY" in info.value.hint
    assert "not-the-secret" not in str(info.value)


def test_access_denied_on_write(seaweedfs: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in seaweedfs.aws_variables().items():
        monkeypatch.setenv(name, value) if value else monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "reader-key")  # may read and list, not write
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "reader-secret")
    storage = ByteStorage(seaweedfs.url("x"))
    storage.check()
    with pytest.raises(DatastoreAccessDenied, match="was denied") as info:
        storage.write("k", b"v")
    assert "s3:PutObject" in info.value.hint


def test_no_credentials(server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(CredentialsNotFound, match="no AWS credentials") as info:
        ByteStorage(server.url("x")).check()
    assert "AWS_PROFILE" in info.value.hint


def test_unknown_profile(server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(CredentialsNotFound, match="'no-such-profile' does not exist"):
        ByteStorage(server.url("x")).check()


def test_unreachable_endpoint(server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    [port] = free_ports(1)  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(EndpointUnreachable, match=f"127.0.0.1:{port}") as info:
        ByteStorage(server.url("x")).check()
    assert "AWS_ENDPOINT_URL" in info.value.hint


def test_missing_library_names_the_extra() -> None:
    # A Python without aiobotocore (what 'pip install flowkit' gives): the s3:// root is
    # refused with what to install, before anything else happens.
    code = (
        "import sys; sys.modules['aiobotocore'] = None\n"
        "from flowkit.datastore import ByteStorage\n"
        "from flowkit.errors import DatastoreError\n"
        "try:\n"
        "    ByteStorage('s3://bucket/prefix')\n"
        "except DatastoreError as exc:\n"
        "    print(exc.hint)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pip install 'flowkit[s3]'"


def test_a_root_without_bucket_is_refused() -> None:
    with pytest.raises(DatastoreError, match="names no bucket"):
        ByteStorage("s3://")
