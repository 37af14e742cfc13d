"""Every lifecycle hook of step and flow decorators is called, at its moment, in a real run.

The flow (``flows/hooks/hooked.py``) notes each hook call with the calling process's pid: the
runner's hooks come from the process running ``python flow.py run``, the task hooks from the
task's own process (a fork, or a fresh interpreter with ``--launcher spawn``).
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from flowtests import FLOWS

HOOKED = FLOWS / "hooks" / "hooked.py"


def _notes(path):
    """(runner's notes, {task pid: notes}) — the runner is the process that ran flow_init first."""
    lines = [line.rsplit(" ", 1) for line in path.read_text().splitlines()]
    runner_pid = lines[0][1]
    runner = [text for text, pid in lines if pid == runner_pid]
    tasks = defaultdict(list)
    for text, pid in lines:
        if pid != runner_pid:
            tasks[pid].append(text)
    return runner, tasks


@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_every_hook_runs_in_order(run_flow, tmp_path, launcher):
    log = tmp_path / "hooks.log"
    result = run_flow(HOOKED, "run", "--launcher", launcher, HOOKS_LOG=str(log))
    assert result.returncode == 0, result.output
    runner, tasks = _notes(log)
    assert runner == [
        "flow_init HookedFlow the test",
        "step_init start",
        "step_init end",
        "flow_runtime_init",
        "runtime_init start local",
        "runtime_init end local",
        "runtime_finished start",
        "runtime_finished end",
        "flow_runtime_finished",
    ]
    # a spawned task loads and checks the flow again (flow_init, step_init) in its own process
    checks = (
        ["flow_init HookedFlow the test", "step_init start", "step_init end"]
        if launcher == "spawn"
        else []
    )
    assert sorted(tasks.values()) == sorted(
        [
            [*checks, "task_pre_step start", "task_decorate start", "task_post_step start"],
            [
                *checks,
                "task_pre_step end",
                "task_decorate end",
                "task_exception end ValueError",  # handled: the run succeeds
                "task_post_step end",
            ],
        ]
    )
    assert "flowkit: warning: @noted by the test" in result.stderr
    assert "flowkit: warning: @hooked is watching start" in result.stderr
    store = run_flow.store("HookedFlow")
    [start] = [m for m in store.manifests("1") if m.step == "start"]
    assert store.load_artifact(start.artifacts["tag_seen"]) == "from-the-decorator"


def test_runtime_finished_runs_after_a_failed_task(run_flow, tmp_path):
    log = tmp_path / "hooks.log"
    result = run_flow(HOOKED, "run", HOOKS_LOG=str(log), HOOKS_FAIL="1")
    assert result.returncode == 1
    assert "start fails on purpose" in result.stderr
    runner, tasks = _notes(log)
    assert runner[-3:] == [
        "runtime_finished start",
        "runtime_finished end",
        "flow_runtime_finished",
    ]
    assert list(tasks.values()) == [
        ["task_pre_step start", "task_decorate start", "task_exception start RuntimeError"]
    ]


def test_check_runs_only_the_validation_hooks(run_flow, tmp_path):
    log = tmp_path / "hooks.log"
    result = run_flow(HOOKED, "check", HOOKS_LOG=str(log))
    assert result.returncode == 0, result.output
    runner, tasks = _notes(log)
    assert runner == ["flow_init HookedFlow the test", "step_init start", "step_init end"]
    assert not tasks
