"""Processes a step starts and leaves running are stopped when its task ends."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

# `start` leaves behind a plain `sleep`, one that ignores SIGTERM (so only SIGKILL stops it) and
# one in a new session, which escapes on purpose. LEAVE_FAIL=1 makes the task fail afterwards.
FLOW = """
import os
import subprocess

from flowkit import FlowSpec, step


class LeaveFlow(FlowSpec):
    @step
    def start(self):
        plain = subprocess.Popen(["sleep", "300"])
        stubborn = subprocess.Popen(["sh", "-c", "trap '' TERM; sleep 300 & wait"])
        escaped = subprocess.Popen(["sleep", "300"], start_new_session=True)
        with open(os.environ["LEAVE_PIDS"], "w") as out:
            out.write(f"{plain.pid} {stubborn.pid} {escaped.pid}")
        if os.environ.get("LEAVE_FAIL"):
            raise RuntimeError("failing with children left behind")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LeaveFlow()
"""


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for init, which may be slow to reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


@pytest.mark.parametrize(
    ("launcher", "fail"),
    [("fork", ""), ("spawn", ""), ("fork", "1")],
    ids=["fork", "spawn", "failed"],
)
def test_leftover_processes_are_stopped_when_the_task_ends(run_flow, tmp_path, launcher, fail):
    flow = tmp_path / "leave.py"
    flow.write_text(FLOW)
    pids_file = tmp_path / "pids"
    started = time.monotonic()
    result = run_flow(
        flow, "run", "--launcher", launcher, LEAVE_PIDS=str(pids_file), LEAVE_FAIL=fail
    )
    assert result.returncode == (1 if fail else 0), result.output
    plain, stubborn, escaped = (int(pid) for pid in pids_file.read_text().split())
    try:
        assert not _running(plain)
        assert not _running(stubborn)
        assert _running(escaped)  # a new session is outside the task's process group
        assert time.monotonic() - started < 60  # nobody waited for `sleep 300`
    finally:
        for pid in (plain, stubborn, escaped):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
