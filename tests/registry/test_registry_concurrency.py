"""Concurrent writers of one registry, on a folder and on both S3 servers (issue 17).

Eight processes each register a version and make compare-and-swap promotions of one alias at
the same time. Every promotion either lands or fails cleanly with the version the alias holds
now; afterwards there is one history holding exactly the moves that succeeded, in order, each
starting where the previous one ended, and the versions are numbered 1..N with no gap.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3servers import S3Server

from flowkit.datastore import ByteStorage, FlowDatastore
from flowkit.datastore.s3 import S3Backend
from flowkit.modelreg import ModelVersion, Registry
from flowkit.settings import Settings

PROMOTER = Path(__file__).with_name("promoter.py")
WORKERS = 8
MOVES = 5  # per writer on S3, where a move takes milliseconds
LOCAL_MOVES = 40  # per writer on a folder, where it takes a fraction of one


def _seed(storage: ByteStorage) -> str:
    """A first version of churn (v1), whose blob every worker registers too."""
    sha = FlowDatastore(storage, "SeedFlow").save_artifact({"w": 1}).sha
    Registry(storage, user="seed").add_version(
        ModelVersion(
            name="churn",
            number=0,
            kind="model",
            sha=sha,
            type="builtins.dict",
            size=1,
            flow="SeedFlow",
            pathspec="SeedFlow/1/train/1",
            artifact="model",
            user="seed",
            created_at=1.0e9,
        )
    )
    return sha


def _race(root: str, env: dict[str, str], sha: str, cwd: Path, moves: int) -> list[dict]:
    barrier = cwd / "start-line"
    barrier.mkdir()
    args = [str(moves), sha, str(barrier), str(WORKERS)]
    procs = [
        subprocess.Popen(
            [sys.executable, str(PROMOTER), root, str(worker), *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(WORKERS)
    ]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def _check_one_history(storage: ByteStorage, reports: list[dict], moves: int) -> None:
    registry = Registry(storage)
    versions = [v.number for v in registry.versions("churn")]
    assert versions == list(range(1, WORKERS + 2))  # v1 (seed) and one per worker, no gap
    assert sorted(r["version"] for r in reports) == list(range(2, WORKERS + 2))

    history = registry.history("churn", "champion")
    succeeded = sorted(
        (move["seq"], move["previous"], move["version"])
        for report in reports
        for move in report["moves"]
    )
    assert len(succeeded) == WORKERS * moves
    # exactly the moves that succeeded, in log order, none lost and none invented
    assert [(e.seq, e.previous, e.version) for e in history] == succeeded
    assert [e.seq for e in history] == list(range(1, len(history) + 1))
    # one chain: each move starts where the previous one ended
    assert history[0].previous is None
    for before, after in itertools.pairwise(history):
        assert after.previous == before.version
    assert registry.aliases("churn") == {"champion": history[-1].version}
    # writers did race: some compare-and-swaps were refused
    assert sum(r["conflicts"] for r in reports) > 0


def test_concurrent_promotions_on_a_folder(tmp_path: Path) -> None:
    root = str(tmp_path / "datastore")
    storage = ByteStorage(root)
    sha = _seed(storage)
    reports = _race(root, dict(os.environ), sha, tmp_path, LOCAL_MOVES)
    _check_one_history(storage, reports, LOCAL_MOVES)


@pytest.fixture(params=["moto", "seaweedfs"])
def s3_place(
    request: pytest.FixtureRequest, s3_servers, tmp_path: Path
) -> Iterator[tuple[S3Server, str]]:
    server: S3Server = s3_servers(request.param)
    prefix = f"registry-{uuid.uuid4().hex[:12]}"
    yield server, prefix
    server.clear(prefix)


def _point_environment_at(server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in server.aws_variables().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


def _s3_storage(server: S3Server, prefix: str) -> ByteStorage:
    settings = Settings(s3_endpoint_url=server.endpoint, aws_region="us-east-1")
    return ByteStorage(S3Backend(server.url(prefix), settings))


def test_the_s3_servers_refuse_a_conflicting_conditional_write(s3_place, monkeypatch) -> None:
    # The registry relies on If-None-Match: * being honoured (not on the claim fallback).
    server, prefix = s3_place
    _point_environment_at(server, monkeypatch)
    client = server.client()
    key = f"{prefix}/probe"
    client.put_object(Bucket=server.bucket, Key=key, Body=b"first", IfNoneMatch="*")
    with pytest.raises(Exception) as refused:
        client.put_object(Bucket=server.bucket, Key=key, Body=b"second", IfNoneMatch="*")
    assert getattr(refused.value, "response", {})["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert client.get_object(Bucket=server.bucket, Key=key)["Body"].read() == b"first"
    storage = _s3_storage(server, prefix)
    assert storage.backend._conditional_writes_work() is True


def test_concurrent_promotions_on_s3(s3_place, tmp_path: Path, monkeypatch) -> None:
    server, prefix = s3_place
    _point_environment_at(server, monkeypatch)
    storage = _s3_storage(server, prefix)
    sha = _seed(storage)
    reports = _race(server.url(prefix), server.env(), sha, tmp_path, MOVES)
    _check_one_history(storage, reports, MOVES)
