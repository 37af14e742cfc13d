"""A datastore that refuses writes ends the run cleanly: failed, named, exit 1, nothing running.

The tests run as root, so permissions cannot block a write. Two real faults are injected instead:
a file size limit (RLIMIT_FSIZE, with SIGXFSZ ignored so ``write`` fails with EFBIG, as on a full
disk) on the runner and its tasks, and an S3 server that starts answering every request with
503 (a storage outage) in the middle of a run.
"""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from flowtests import FLOWS, FlowResult, FlowRunner
from s3servers import FlakyProxy, S3Server

from flowkit.client import ClientContext

WRITES = FLOWS / "liveness" / "writes.py"
_LIMIT = 1024 * 1024  # the flow writes 3 MiB in one object; everything else is far smaller


def _capped_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (_LIMIT, _LIMIT))


def _run_capped(run_flow: FlowRunner, *args: str, **env: str) -> tuple[FlowResult, float]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(WRITES), *args],
        cwd=run_flow.cwd,
        env={**run_flow.env, **env},
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_capped_files,
    )
    return FlowResult(proc.returncode, proc.stdout, proc.stderr), time.monotonic() - started


def _assert_clean_failure(result: FlowResult, seconds: float) -> None:
    assert result.returncode == 1, result.output
    assert "Traceback" not in result.stderr
    assert "run stopped: datastore write failed" in result.stderr
    assert "resume" in result.stderr
    # the sleeping sibling (60 s) was stopped, not waited for
    assert seconds < 30, result.output
    assert "1 running task(s) were stopped" in result.stderr


def test_an_artifact_that_cannot_be_stored_fails_the_run(run_flow):
    result, seconds = _run_capped(run_flow, "run", FLOWKIT_TEST_WRITE="artifact")
    _assert_clean_failure(result, seconds)
    message = result.stderr
    assert "task WriteFlow/1/big/" in message
    assert "artifact 'blob'" in message
    assert "WriteFlow/data/" in message and "File too large" in message
    assert "the run is recorded as failed" in message
    run = ClientContext(str(run_flow.root)).run("WriteFlow/1")
    assert run.status == "failed"
    assert (
        "datastore write error" in run_flow.store("WriteFlow").run_record("1").summary["stopped_by"]
    )
    sleepy = run["sleepy"].task
    assert sleepy.status == "failed"  # committed as stopped, not left out


def test_a_log_that_cannot_be_stored_fails_the_run(run_flow):
    result, seconds = _run_capped(run_flow, "run", FLOWKIT_TEST_WRITE="log")
    _assert_clean_failure(result, seconds)
    message = result.stderr
    assert "could not commit task WriteFlow/1/big/" in message
    assert "/runs/1/big/" in message and "0.stdout" in message
    assert "File too large" in message
    assert ClientContext(str(run_flow.root)).run("WriteFlow/1").status == "failed"


@pytest.fixture
def outage(
    moto_s3: S3Server, tmp_path, monkeypatch
) -> Iterator[tuple[FlowRunner, FlakyProxy, str]]:
    pytest.importorskip("s3fs")
    # This process reads the results straight from the server; the runner goes through a proxy.
    for name, value in moto_s3.aws_variables().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    proxy = FlakyProxy(moto_s3.endpoint)
    runner = FlowRunner(tmp_path / "unused", tmp_path)
    root = moto_s3.url(f"outage-{uuid.uuid4().hex[:12]}")
    runner.env = moto_s3.env(dict(runner.env))
    runner.env.update(
        AWS_ENDPOINT_URL=proxy.endpoint,
        FLOWKIT_DATASTORE_ROOT=root,
        FLOWKIT_S3_MAX_ATTEMPTS="1",
        FLOWKIT_S3_TIMEOUT="5",
        FLOWKIT_HEARTBEAT_INTERVAL="0.5",
        FLOWKIT_HEARTBEAT_EXPIRY="2",
    )
    yield runner, proxy, root
    proxy.close()
    moto_s3.clear(root.rpartition("/")[2])


def test_a_storage_outage_mid_run_fails_cleanly_and_the_run_shows_lost(outage):
    runner, proxy, root = outage
    proc = runner.popen(WRITES, "run", FLOWKIT_TEST_WRITE="artifact", FLOWKIT_TEST_WAIT="2")
    deadline = time.monotonic() + 60
    line = ""
    while "big started" not in line and time.monotonic() < deadline:
        line = proc.stdout.readline()
    proxy.fail(100_000)  # from now on every request gets 503 Service Unavailable
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    assert "task WriteFlow/1/big/" in err and "artifact 'blob'" in err
    assert f"{root}/WriteFlow/data/" in err
    # the end record could not be written either, and the message says so
    assert "recording the run as failed failed too" in err
    # read back from the server itself: nothing is left "running" once the lease expires
    time.sleep(2.0)
    assert ClientContext(root).run("WriteFlow/1").status == "lost"
