"""On S3 the runner commits tasks several at a time, in a commit process (issue 12, point 8).

Checked through ``python flow.py run`` against the real servers: every task's logs and manifest
are stored, resume clones through the same path, a refused commit stops the run with the named
error and records it as failed, a task never starts before its parent's manifest is stored (the
parent's commit is held back by a proxy, and the children read the manifest themselves), and
Ctrl-C commits the stopped tasks and leaves no process behind.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flowtests import FLOWS, FlowRunner
from s3servers import FlakyProxy, S3Server

from flowkit.datastore import ByteStorage, FlowDatastore
from flowkit.datastore.manifest import TaskManifest
from flowkit.errors import DatastoreWriteError
from flowkit.runtime.committer import CommitProcess
from flowkit.settings import Settings

FLOW = Path(__file__).parent / "flows" / "commits.py"
SLEEPER = FLOWS / "failing" / "sleeper.py"
WIDTH = 24


def _point_environment_at(server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in server.aws_variables().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


class Datastore:
    """A flow runner on a fresh prefix of ``server``, reached directly or through ``endpoint``."""

    def __init__(self, server: S3Server, cwd: Path, endpoint: str = "") -> None:
        self.server = server
        self.prefix = f"commits-{uuid.uuid4().hex[:12]}"
        self.root = server.url(self.prefix)
        self.run = FlowRunner(cwd / "unused", cwd)
        self.run.env = server.env(dict(self.run.env))
        self.run.env["FLOWKIT_DATASTORE_ROOT"] = self.root
        if endpoint:
            self.run.env["AWS_ENDPOINT_URL"] = endpoint

    def store(self, flow: str = "CommitFlow") -> FlowDatastore:
        settings = Settings(s3_endpoint_url=self.server.endpoint, aws_region="us-east-1")
        return FlowDatastore(ByteStorage(self.root, settings), flow)


@pytest.fixture
def on_seaweedfs(
    seaweedfs: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Datastore]:
    _point_environment_at(seaweedfs, monkeypatch)
    place = Datastore(seaweedfs, tmp_path)
    yield place
    seaweedfs.clear(place.prefix)


@pytest.fixture
def behind_proxy(
    moto_s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Datastore, FlakyProxy]]:
    """The runner and its tasks reach moto through a proxy; this process reads moto directly."""
    _point_environment_at(moto_s3, monkeypatch)
    proxy = FlakyProxy(moto_s3.endpoint)
    place = Datastore(moto_s3, tmp_path, endpoint=proxy.endpoint)
    place.run.env["FLOWKIT_S3_MAX_ATTEMPTS"] = "1"
    yield place, proxy
    proxy.close()
    moto_s3.clear(place.prefix)


def _all_bodies(store: FlowDatastore, run_id: str) -> list[TaskManifest]:
    return [store.read_manifest(run_id, "body", t) for t in store.tasks(run_id, "body")]


def test_every_commit_lands_and_resume_clones_through_the_same_path(
    on_seaweedfs: Datastore,
) -> None:
    run, store = on_seaweedfs.run, on_seaweedfs.store()
    args = ("--width", str(WIDTH), "--max-workers", "4")
    failed = run(FLOW, "run", *args, COMMIT_TEST_FAIL_JOIN="1")
    assert failed.returncode == 1, failed.output
    assert "planned failure in join" in failed.stderr
    assert store.run_record("1").status == "failed"
    bodies = _all_bodies(store, "1")
    assert len(bodies) == WIDTH
    assert {m.status for m in bodies} == {"succeeded"}
    for manifest in bodies:  # the logs went in with the manifest, and it records their size
        log = store.read_log("1", "body", manifest.task_id, 0, "stdout")
        assert log.startswith(b"item ") and manifest.logs["stdout"] == len(log)
    [join] = store.tasks("1", "join")
    assert store.read_manifest("1", "join", join).status == "failed"

    resumed = run(FLOW, "resume")
    assert resumed.returncode == 0, resumed.output
    record = store.run_record("2")
    assert (record.status, record.origin_run_id) == ("succeeded", "1")
    assert record.summary["tasks_cloned"] == WIDTH + 1  # start and every body
    clones = _all_bodies(store, "2")
    assert len(clones) == WIDTH and all(m.origin_pathspec for m in clones)
    [join] = store.tasks("2", "join")
    manifest = store.read_manifest("2", "join", join)
    assert store.load_artifact(manifest.artifacts["total"]) == 2 * sum(range(WIDTH))
    assert store.load_artifact(manifest.artifacts["parents_seen"]) == ["succeeded"]


def test_no_task_starts_before_its_parents_commit_is_stored(
    behind_proxy: tuple[Datastore, FlakyProxy],
) -> None:
    place, proxy = behind_proxy
    # Hold back the commit of the foreach's parent, and that of one split before the join.
    proxy.delay(1, 2.0, match="/start/1/0.manifest.json")
    proxy.delay(1, 2.0, match="/body/5/0.manifest.json")
    started = time.monotonic()
    result = place.run(FLOW, "run", "--width", "8", "--max-workers", "4")
    assert result.returncode == 0, result.output
    assert proxy.injected == 2 and time.monotonic() - started > 4.0
    store = place.store()
    # Each split read its parent's manifest when it started; the join read all of its parents'.
    [join] = store.tasks("1", "join")
    manifest = store.read_manifest("1", "join", join)
    assert store.load_artifact(manifest.artifacts["parents_seen"]) == ["succeeded"]
    assert store.load_artifact(manifest.artifacts["total"]) == 2 * sum(range(8))


def test_a_refused_commit_stops_the_run_with_the_named_error(
    behind_proxy: tuple[Datastore, FlakyProxy],
) -> None:
    place, proxy = behind_proxy
    proxy.fail(100_000, match="/runs/1/body/")  # the splits' logs and manifests
    result = place.run(FLOW, "run", "--width", "8", "--max-workers", "4")
    assert result.returncode == 1, result.output
    assert "Traceback" not in result.stderr
    assert "run stopped: datastore write failed" in result.stderr  # RunStorageFailed
    assert "could not commit task CommitFlow/1/body/" in result.stderr
    assert "(its logs and manifest)" in result.stderr and "resume" in result.stderr
    store = place.store()
    record = store.run_record("1")
    assert record.status == "failed"
    assert "datastore write error" in record.summary["stopped_by"]
    assert store.tasks("1", "join") == []  # nothing after the refused commits ran

    proxy.clear()
    resumed = place.run(FLOW, "resume")
    assert resumed.returncode == 0, resumed.output
    assert len(_all_bodies(store, "2")) == 8


def test_the_commit_process_reports_every_commit_and_its_own_death(
    moto_s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_environment_at(moto_s3, monkeypatch)
    prefix = f"committer-{uuid.uuid4().hex[:12]}"
    settings = Settings(s3_endpoint_url=moto_s3.endpoint, aws_region="us-east-1")
    store = FlowDatastore(ByteStorage(moto_s3.url(prefix), settings), "CommitFlow")
    store.storage.check()
    manifests = [
        TaskManifest(
            flow="CommitFlow",
            run_id="1",
            step="body",
            task_id=str(i),
            attempt=0,
            status="succeeded",
            started_at=0.0,
            finished_at=0.0,
            artifacts={},
        )
        for i in range(30)
    ]
    committer = CommitProcess(store, threads=8)
    try:
        for i, manifest in enumerate(manifests):
            committer.submit(manifest, {"stdout": f"line {i}\n".encode()}, i)
        done = committer.drain()
        assert sorted(c.tag for c in done) == list(range(30))
        assert all(c.error is None for c in done)
        assert set(store.tasks("1", "body")) == {str(i) for i in range(30)}
        assert store.read_log("1", "body", "7", 0, "stdout") == b"line 7\n"
        assert store.read_manifest("1", "body", "7").logs == {"stdout": 7}

        os.kill(committer._pid, signal.SIGKILL)  # the helper dies: pending commits fail, named
        extra = manifests[0]
        extra.task_id = "99"
        committer.submit(extra, {}, "late")
        [late] = committer.drain()
        assert late.tag == "late" and isinstance(late.error, DatastoreWriteError)
        assert "commit process" in str(late.error)
        assert "99" not in store.tasks("1", "body")
    finally:
        committer.close()
        moto_s3.clear(prefix)


def test_ctrl_c_on_s3_records_the_run_killed_and_leaves_no_process(
    on_seaweedfs: Datastore,
) -> None:
    store = on_seaweedfs.store("SleepFlow")
    proc = on_seaweedfs.run.popen(SLEEPER, "run")
    pids: list[int] = []
    deadline = time.monotonic() + 60
    while len(pids) < 2 and time.monotonic() < deadline:  # both sleeping tasks have started
        line = proc.stdout.readline()
        if " pid " in line:
            pids.append(int(line.split()[-1]))
    assert len(pids) == 2, "the tasks did not start"
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert len(children) == 3  # the two tasks and the commit process
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted (SIGINT)" in err and "Traceback" not in err
    assert "2 running task(s) were stopped" in err
    for pid in map(int, children):  # the commit process ended with the runner, as did the tasks
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    record = store.run_record("1")
    assert record.status == "killed"
    # The stopped tasks were committed (as failed) through the commit process.
    assert {store.read_manifest("1", s, store.tasks("1", s)[0]).status for s in "ab"} == {"failed"}
