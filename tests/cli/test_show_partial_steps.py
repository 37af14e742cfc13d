"""``flowkit show RUN`` never calls a step succeeded while some of its tasks are missing or were
stopped: a live run's partial step is ``running``, a lost run's is ``incomplete``, and tasks
stopped by a signal make their step ``killed``."""

from __future__ import annotations

import json
import signal
import subprocess
import time

from flowtests import FLOWS, FlowRunner

SLOW = FLOWS / "resumable" / "slow.py"


def _show(run_flow: FlowRunner, pathspec: str) -> tuple[str, dict]:
    def call(*extra: str) -> str:
        return subprocess.run(
            ["flowkit", "show", pathspec, "--datastore-root", str(run_flow.root), *extra],
            capture_output=True,
            text=True,
            env=run_flow.env,
            check=True,
        ).stdout

    return call(), json.loads(call("--json"))


def _steps(payload: dict) -> dict[str, str]:
    return {s["step"]: s["status"] for s in payload["steps"]}


def _start_and_wait_for_two_splits(run_flow: FlowRunner) -> subprocess.Popen:
    proc = run_flow.popen(SLOW, "run", "--max-workers", "2")
    store = run_flow.store("SlowFlow")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if store.latest_run_id() and sum(m.step == "work" for m in store.manifests("1")) >= 2:
            return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the first two splits did not finish")


def _work_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith("work "))


def test_a_partial_step_is_running_then_incomplete_once_the_run_is_lost(run_flow):
    run_flow.env.update(FLOWKIT_HEARTBEAT_INTERVAL="0.2", FLOWKIT_HEARTBEAT_EXPIRY="1.5")
    proc = _start_and_wait_for_two_splits(run_flow)
    _text, payload = _show(run_flow, "SlowFlow/1")
    assert payload["run"]["status"] == "running"
    assert _steps(payload) == {"start": "succeeded", "work": "running"}
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    time.sleep(2.0)
    text, payload = _show(run_flow, "SlowFlow/1")
    assert payload["run"]["status"] == "lost"
    assert _steps(payload)["work"] == "incomplete"
    assert "Run SlowFlow/1: lost" in text
    assert "incomplete" in _work_line(text) and "succeeded" not in _work_line(text)


def test_tasks_stopped_by_a_signal_make_their_step_killed(run_flow):
    proc = _start_and_wait_for_two_splits(run_flow)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 143
    text, payload = _show(run_flow, "SlowFlow/1")
    assert payload["run"]["status"] == "killed"
    assert _steps(payload)["work"] == "killed"
    assert "killed" in _work_line(text) and "stopped" in _work_line(text)
