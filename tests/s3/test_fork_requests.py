"""What a forked task on S3 does not have to do again (issue 12, point 8: S3 foreach speed).

A fork takes the client its parent built in advance and never used, instead of building one;
blobs the runner read ahead (a foreach's elements) or a process read or wrote are known to be
stored, so a fork reads them from memory and never uploads them again; a join reads its inputs'
artifacts of a name together. Checked against the real servers, requests counted by a proxy.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flowtests import FlowRunner
from s3servers import FlakyProxy, S3Server

from flowkit.datastore import ByteStorage, FlowDatastore
from flowkit.datastore.content import ContentStore
from flowkit.datastore.s3 import S3Backend
from flowkit.datastore.serialize import serialize
from flowkit.settings import Settings

FLOW = Path(__file__).parent / "flows" / "fanout.py"
WIDTH = 12


def _settings(endpoint: str) -> Settings:
    return Settings(s3_endpoint_url=endpoint, aws_region="us-east-1", s3_max_attempts=2)


def _digest(value: Any) -> str:
    return hashlib.sha256(b"".join(bytes(p) for p in serialize(value).parts)).hexdigest()


def _point_environment_at(server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in server.aws_variables().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def _in_fork(work: Callable[[], Any]) -> Any:
    """``work()``'s result (or exception, as text) from a forked child."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_end)
        try:
            payload = pickle.dumps(("ok", work()))
        except BaseException as exc:
            payload = pickle.dumps(("error", repr(exc)))
        with os.fdopen(write_end, "wb") as out:
            out.write(payload)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as source:
        status, value = pickle.loads(source.read())
    os.waitpid(pid, 0)
    assert status == "ok", value
    return value


@pytest.fixture
def prefix(seaweedfs: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    _point_environment_at(seaweedfs, monkeypatch)
    name = f"forks-{uuid.uuid4().hex[:12]}"
    yield name
    seaweedfs.clear(name)


def test_a_fork_takes_the_spare_client_and_a_fork_of_it_builds_its_own(
    seaweedfs: S3Server, prefix: str
) -> None:
    backend = S3Backend(seaweedfs.url(prefix), _settings(seaweedfs.endpoint))
    backend.check()  # what the runner does before it forks: it also builds the spare
    backend.write("a", [memoryview(b"from the parent")], False)
    own = backend._client
    assert backend._spare is not None and backend._spare[2] is not own
    spare_id = id(backend._spare[2])

    def child() -> tuple[bool, bytes, bytes]:
        data = bytes(backend.read("a", None))
        backend.write("b", [memoryview(b"from the child")], False)

        def grandchild() -> bytes:  # the child's client was used: it builds a new one
            assert backend._spare is None
            return bytes(backend.read("b", None))

        return id(backend._client) == spare_id, data, _in_fork(grandchild)

    took_spare, data, seen_by_grandchild = _in_fork(child)
    assert took_spare, "the fork built a client instead of taking the spare"
    assert (data, seen_by_grandchild) == (b"from the parent", b"from the child")
    assert backend._client is own  # the parent's own client and spare are untouched
    assert bytes(backend.read("b", None)) == b"from the child"


def test_a_fork_reads_preloaded_blobs_from_memory_and_never_uploads_known_ones(
    seaweedfs: S3Server, prefix: str
) -> None:
    proxy = FlakyProxy(seaweedfs.endpoint)
    try:
        content = ContentStore(
            ByteStorage(seaweedfs.url(prefix), _settings(proxy.endpoint)), "F/data"
        )
        small = [serialize(f"value {i}", "x").parts for i in range(5)]
        digests = content.put_many(small)
        big = content.put([b"b" * 5000])
        fresh = ContentStore(content.storage, "F/data")  # knows nothing yet
        fresh.preload([*digests, big], max_size=4096)
        before = proxy.requests

        def child() -> tuple[list[bytes], int]:
            values = [bytes(fresh.get(d)) for d in digests]
            for parts in small:
                fresh.put(parts)  # known to be stored: no request
            return values, proxy.requests

        values, during = _in_fork(child)
        assert values == [bytes(b"".join(bytes(p) for p in parts)) for parts in small]
        assert during == before, proxy.log[before:]
        # The blob over the size limit was not kept: it is read when wanted.
        assert bytes(fresh.get(big)) == b"b" * 5000
        assert proxy.requests == before + 1 and proxy.log[-1].startswith("GET ")
    finally:
        proxy.close()


def test_a_foreach_on_s3_uploads_each_element_once_and_reads_each_blob_once(
    seaweedfs: S3Server, prefix: str, tmp_path: Path
) -> None:
    proxy = FlakyProxy(seaweedfs.endpoint)
    try:
        run = FlowRunner(tmp_path / "unused", tmp_path)
        run.env = seaweedfs.env(dict(run.env))
        run.env["FLOWKIT_DATASTORE_ROOT"] = seaweedfs.url(prefix)
        run.env["AWS_ENDPOINT_URL"] = proxy.endpoint
        result = run(FLOW, "run", "--width", str(WIDTH), "--max-workers", "3")
        assert result.returncode == 0, result.output
        log = list(proxy.log)
    finally:
        proxy.close()
    store = FlowDatastore(
        ByteStorage(seaweedfs.url(prefix), _settings(seaweedfs.endpoint)), "FanOutFlow"
    )
    [join] = store.tasks("1", "join")
    manifest = store.read_manifest("1", "join", join)
    elements = [f"element {i}" for i in range(WIDTH)]
    assert store.load_artifact(manifest.artifacts["sames"]) == elements
    assert store.load_artifact(manifest.artifacts["ys"]) == [e.upper() for e in elements]

    blobs = {store.content.key(_digest(e)) for e in elements}
    puts = Counter(line.split("?")[0] for line in log if line.startswith("PUT "))
    gets = Counter(line.split("?")[0] for line in log if line.startswith("GET "))
    bucket = f"/{seaweedfs.bucket}/{prefix}/"
    for key in blobs:
        # Stored by start; each body kept it as ``same`` without uploading it again.
        assert puts[f"PUT {bucket}{key}"] == 1, key
        # Read ahead by the runner for the bodies, and read once more by the join.
        assert gets[f"GET {bucket}{key}"] <= 2, key
