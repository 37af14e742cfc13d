"""Every DAG shape, deployed with ``python flow.py airflow create`` and run by ``airflow dags
test``: each task really runs (the probe leaves a trace), the run is ``airflow-<dag run id>``
to the client, and every artifact of every task equals a local run's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow_venv import AirflowEnv, run_id_of
from flowtests import SHAPE_CASES, FlowRunner, Shape

from flowkit.client import ClientContext

# Loops and @parallel gangs are refused at create (tested in test_airflow_dagfile.py).
DEPLOYABLE = sorted(name for name in SHAPE_CASES if "recursive" not in name and name != "parallel")


def artifacts_by_task(root: Path, pathspec: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every step's tasks as (foreach indexes, artifact values), ordered by indexes: what
    must be equal between two runs of a flow, whatever their task ids."""
    run = ClientContext(str(root), chosen_by="the test").run(pathspec)
    out: dict[str, list[tuple[Any, ...]]] = {}
    for step in run:
        tasks = []
        for task in step:
            assert task.successful, task.pathspec
            values = {name: task.artifacts[name].data for name in task.artifacts.names()}
            tasks.append((tuple(f.index for f in task.foreach_stack), values))
        out[step.id] = sorted(tasks, key=lambda t: t[0])
    return out


@pytest.fixture(scope="module")
def shape_runs(airflow_env: AirflowEnv, tmp_path_factory: pytest.TempPathFactory):
    """Each deployable shape run by Airflow and locally, all against one local datastore."""
    work = tmp_path_factory.mktemp("airflow-shapes")
    root = work / "datastore"
    trace = work / "trace"
    trace.mkdir()
    env = {"FLOWKIT_DATASTORE_ROOT": str(root), "FLOWKIT_USER": "ada"}
    local = FlowRunner(root, work)
    local_ids = {}
    for name in DEPLOYABLE:
        shape = SHAPE_CASES[name]
        created = airflow_env.flow(
            shape.file, "airflow", "create", str(airflow_env.dags / f"{name}.py"), cwd=work, **env
        )
        assert created.returncode == 0, created.stdout + created.stderr
        ran = local(shape.file, "run", "--run-id-file", str(work / f"{name}.json"))
        assert ran.returncode == 0, ran.output
        local_ids[name] = (work / f"{name}.json").read_text()
    runs = airflow_env.dags_test_many(
        [(SHAPE_CASES[n].flow, None, {**env, "FLOWKIT_TEST_TRACE": str(trace)}) for n in DEPLOYABLE]
    )
    return root, trace, local_ids, dict(zip(DEPLOYABLE, runs))


@pytest.mark.slow
@pytest.mark.parametrize("name", DEPLOYABLE)
def test_airflow_runs_shape_like_a_local_run(shape_runs, name: str) -> None:
    import json

    root, trace, local_ids, runs = shape_runs
    shape: Shape = SHAPE_CASES[name]
    done = runs[name]
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    run_id = run_id_of(output, shape.flow)
    assert run_id.startswith("airflow-manual__")
    assert f"flowkit run {shape.flow}/{run_id}: succeeded" in output
    # every task really executed, in a process of its own (one trace file per task)
    executed = [p.name for p in trace.iterdir() if p.name.startswith(f"{run_id}-")]
    assert len(executed) == shape.tasks, executed
    context = ClientContext(str(root), chosen_by="the test")
    run = context.run(f"{shape.flow}/{run_id}")
    assert run.successful and run.finished
    assert run.data.result == shape.result
    local_id = json.loads(local_ids[name])["run_id"]
    ours = artifacts_by_task(root, f"{shape.flow}/{run_id}")
    theirs = artifacts_by_task(root, f"{shape.flow}/{local_id}")
    assert ours == theirs
    # the deterministic task ids: the step, then the foreach indexes leading to it
    for step in run:
        for task in step:
            where = "-".join(str(f.index) for f in task.foreach_stack)
            assert task.id == (f"{step.id}-{where}" if where else step.id)
