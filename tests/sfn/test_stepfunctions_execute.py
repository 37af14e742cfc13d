"""Flows deployed with ``python flow.py step-functions create`` and started with ``trigger``
run end to end in moto's Step Functions, their Batch jobs really running (``fake_sfn``), and
read back with the client equal to a local ``python flow.py run`` of the same flow.

The state machines are exactly the production ones (no test switch): moto 5.2.1 executes
``batch:submitJob.sync`` and ``dynamodb:getItem``, inline and distributed Maps, Parallel and the
intrinsics used. The one gap, moto's Batch integration passing Step Functions' PascalCase
parameter names to Batch unconverted, is filled in the fake server (``moto_sfn_server.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fakesfn import SfnEnv, client_run, client_run_at, wait_execution
from flowtests import SHAPE_CASES, FlowRunner


def deploy_and_trigger(env: SfnEnv, runner: FlowRunner, flow: Path, *params: str) -> str:
    created = runner(flow, "step-functions", "create", timeout=120, **env.env)
    assert created.returncode == 0, created.output
    triggered = runner(flow, "step-functions", "trigger", *params, timeout=60, **env.env)
    assert triggered.returncode == 0, triggered.output
    run_id = triggered.stdout.strip().splitlines()[-1]
    assert run_id.startswith("sfn-")
    return run_id


@pytest.mark.parametrize(
    "shape",
    [
        "linear",
        "branch",
        "foreach",
        "nested_foreach",
        "switch",
        "switch_in_foreach",
        "recursive_switch",
        "recursive_switch_inside_foreach",
    ],
)
def test_stepfunctions_run_equals_a_local_run(sfn_env: SfnEnv, tmp_path: Path, shape: str) -> None:
    case = SHAPE_CASES[shape]
    runner = FlowRunner(tmp_path / "local", tmp_path)
    local = runner(case.file, "run")
    assert local.returncode == 0, local.output
    run_id = deploy_and_trigger(sfn_env, runner, case.file)
    execution = wait_execution(sfn_env, case.flow, run_id)
    assert execution["status"] == "SUCCEEDED", execution
    run = client_run(sfn_env, f"{case.flow}/{run_id}")
    assert run.finished and run.successful
    assert run.data.result == case.result
    local_run = runner.store(case.flow).latest_run_id()
    local_view = client_run_at(str(tmp_path / "local"), f"{case.flow}/{local_run}")
    # every step ran the same tasks (by foreach position) with the same artifacts
    assert artifact_map(run) == artifact_map(local_view)
    assert sum(len(tasks) for tasks in artifact_map(run).values()) == case.tasks
    # logs landed in the datastore like a local task's
    assert "result" in run["end"].task.stdout
    assert run.code is not None


def artifact_map(run) -> dict[str, list[tuple]]:
    """Step -> its tasks as (foreach indexes, pass, {artifact: content hash}), sorted."""
    out: dict[str, list[tuple]] = {}
    for step in run:
        rows = []
        for task in step.tasks():
            where = tuple(frame.index for frame in task.foreach_stack)
            shas = {a.id: a.sha for a in task.artifacts if not a.id.startswith("_")}
            rows.append((where, task.iteration, sorted(shas.items())))
        out[step.id] = sorted(rows)
    return out


def test_a_foreach_wider_than_the_inline_limit_runs_as_a_distributed_map(
    sfn_env: SfnEnv, tmp_path: Path
) -> None:
    case = SHAPE_CASES["foreach"]
    runner = FlowRunner(tmp_path / "local", tmp_path)
    env = {**sfn_env.env, "FLOWKIT_SFN_INLINE_LIMIT": "2"}  # 4 splits > 2
    made = runner(case.file, "step-functions", "create", timeout=120, **env)
    assert made.returncode == 0, made.output
    triggered = runner(case.file, "step-functions", "trigger", timeout=60, **env)
    assert triggered.returncode == 0, triggered.output
    run_id = triggered.stdout.strip()
    execution = wait_execution(sfn_env, case.flow, run_id)
    assert execution["status"] == "SUCCEEDED", execution
    history = sfn_env.fake.sfn.get_execution_history(
        executionArn=execution["executionArn"], maxResults=1000
    )["events"]
    entered = {
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    }
    assert "start_distributed" in entered and "start_inline" not in entered
    assert client_run(sfn_env, f"{case.flow}/{run_id}").data.result == case.result
