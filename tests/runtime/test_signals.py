"""Every way a runner can be stopped leaves a true record: killed on a signal, lost on SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from flowtests import FLOWS, FlowRunner

from flowkit.client import ClientContext, Run

SLEEPER = FLOWS / "failing" / "sleeper.py"
STUBBORN = FLOWS / "liveness" / "stubborn.py"
SLOW = FLOWS / "resumable" / "slow.py"


def _task_pids(proc: subprocess.Popen, count: int) -> list[int]:
    """Read the runner's echoed output until ``count`` tasks have printed their pids."""
    pids: list[int] = []
    deadline = time.monotonic() + 30
    while len(pids) < count and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if " pid " in line:
            pids.append(int(line.split()[-1]))
    assert len(pids) == count, "the tasks did not start"
    return pids


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _client_run(run_flow: FlowRunner, pathspec: str) -> Run:
    return ClientContext(str(run_flow.root)).run(pathspec)


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)]
)
def test_a_signal_stops_every_task_and_records_the_run_killed(run_flow, sig, code):
    proc = run_flow.popen(SLEEPER, "run")
    pids = _task_pids(proc, 2)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert f"interrupted ({signal.Signals(sig).name})" in err
    assert "resume" in err and "Traceback" not in err
    assert all(_gone(pid) for pid in pids)
    run = _client_run(run_flow, "SleepFlow/1")
    assert run.status == "killed" and run.finished
    assert run_flow.store("SleepFlow").run_record("1").summary["stopped_by"] == (
        signal.Signals(sig).name
    )


def test_a_second_interrupt_during_cleanup_still_records_the_run(run_flow):
    # Task b ignores SIGTERM, so stopping it takes the kill grace: the second Ctrl-C lands
    # while the runner is still cleaning up.
    proc = run_flow.popen(STUBBORN, "run")
    pids = _task_pids(proc, 2)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    assert proc.poll() is None, "the runner should still be stopping the stubborn task"
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "already stopping" in err and "Traceback" not in err
    assert all(_gone(pid) for pid in pids)
    assert _client_run(run_flow, "StubbornFlow/1").status == "killed"


def test_a_runner_killed_outright_shows_as_lost_then_resumes(run_flow):
    run_flow.env.update(FLOWKIT_HEARTBEAT_INTERVAL="0.2", FLOWKIT_HEARTBEAT_EXPIRY="1.5")
    proc = run_flow.popen(SLOW, "run", "--max-workers", "2")
    store = run_flow.store("SlowFlow")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if store.latest_run_id() and sum(m.step == "work" for m in store.manifests("1")) >= 2:
            break
        time.sleep(0.05)
    run = _client_run(run_flow, "SlowFlow/1")
    assert run.status == "running" and not run.finished
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    time.sleep(2.0)  # past the lease's expiry
    run = _client_run(run_flow, "SlowFlow/1")
    assert run.status == "lost" and run.finished and run.finished_at is not None
    assert run.to_dict()["status"] == "lost"
    listing = subprocess.run(
        ["flowkit", "runs", "SlowFlow", "--datastore-root", str(run_flow.root)],
        capture_output=True,
        text=True,
        env=run_flow.env,
        check=True,
    )
    assert "lost" in listing.stdout and "running" not in listing.stdout
    resumed = run_flow(SLOW, "resume", FLOWKIT_SLOW_SECONDS="0")
    assert resumed.returncode == 0, resumed.output
    assert "resuming SlowFlow/1" in resumed.stderr
    assert _client_run(run_flow, "SlowFlow/2").status == "succeeded"
