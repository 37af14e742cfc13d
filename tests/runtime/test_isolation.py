"""A crashing task fails alone: the scheduler survives, committed work stays, the user is told."""

from __future__ import annotations

import os
import shutil
import signal
import time

import pytest
from flowtests import FLOWS

from flowkit.own_code import PACKAGE_DIR

CRASH = FLOWS / "failing" / "crashes.py"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("raise", "ValueError: bad value 42"),
        ("segfault", "SIGSEGV"),
        ("exit", "exited with code 3"),
        ("memory", "MemoryError"),
    ],
)
def test_crash_fails_only_that_task(run_flow, mode, expected):
    # four workers: every split is running when split 2 crashes
    result = run_flow(CRASH, "run", "--mode", mode, "--max-workers", "4")
    assert result.returncode == 1, result.output
    assert expected in result.stderr
    assert "resume" in result.stderr
    store = run_flow.store("CrashFlow")
    assert store.run_record("1").status == "failed"
    manifests = store.manifests("1")
    work = {m.foreach_stack[0].index: m for m in manifests if m.step == "work"}
    assert work[2].status == "failed"
    # the other splits were already running: they finish and commit, nothing is lost
    assert sorted(i for i, m in work.items() if m.status == "succeeded") == [0, 1, 3]
    assert not any(m.step == "join" for m in manifests)
    failed_name = f"CrashFlow/1/work/{work[2].task_id}"
    assert failed_name in result.stderr


def test_user_traceback_shows_user_code_not_flowkit(run_flow):
    result = run_flow(CRASH, "run", "--mode", "raise")
    assert 'crashes.py", line 22, in work' in result.stderr
    assert f'File "{PACKAGE_DIR}{os.sep}' not in result.stderr
    store = run_flow.store("CrashFlow")
    failed = next(m for m in store.manifests("1") if m.status == "failed")
    assert failed.failure.type == "ValueError" and failed.failure.kind == "exception"
    log = store.read_log("1", "work", failed.task_id, 0, "stderr").decode()
    assert "ValueError: bad value 42" in log


def test_user_traceback_kept_when_the_project_is_in_a_folder_named_flowkit(run_flow, tmp_path):
    # `git clone .../flowkit` makes exactly such a folder; only the package's own frames go
    project = tmp_path / "flowkit" / "proj"
    project.mkdir(parents=True)
    flow = project / "flow.py"
    shutil.copy(CRASH, flow)
    result = run_flow(flow, "run", "--mode", "raise")
    assert result.returncode == 1, result.output
    assert f'{flow}", line 22, in work' in result.stderr
    assert "ValueError: bad value 42" in result.stderr
    assert f'File "{PACKAGE_DIR}{os.sep}' not in result.stderr


def test_interrupt_stops_every_task_and_marks_run_killed(run_flow):
    proc = run_flow.popen(FLOWS / "failing" / "sleeper.py", "run")
    pids = []
    deadline = time.monotonic() + 30
    while len(pids) < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if " pid " in line:
            pids.append(int(line.split()[-1]))
    assert len(pids) == 2
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert run_flow.store("SleepFlow").run_record("1").status == "killed"


def test_spawned_task_crash_is_isolated_too(run_flow):
    result = run_flow(
        CRASH, "run", "--mode", "segfault", "--launcher", "spawn", "--max-workers", "4"
    )
    assert result.returncode == 1
    assert "SIGSEGV" in result.stderr
    store = run_flow.store("CrashFlow")
    statuses = sorted(m.status for m in store.manifests("1") if m.step == "work")
    assert statuses == ["failed", "succeeded", "succeeded", "succeeded"]


def test_exception_whose_str_raises_keeps_its_type(run_flow):
    result = run_flow(FLOWS / "failing" / "bad_str.py", "run")
    assert result.returncode == 1, result.output
    assert "raised UnprintableError" in result.stderr
    assert "UnprintableError: <exception str() failed: RuntimeError: no text for you>" in (
        result.stderr
    )
    assert "TaskCrashed" not in result.stderr
    assert f'File "{PACKAGE_DIR}{os.sep}' not in result.stderr
    failed = run_flow.store("BadStrFlow").manifests("1")[0]
    assert failed.failure.type == "UnprintableError"
    assert failed.failure.message.startswith("<exception str() failed")
