"""DAG files written by ``python flow.py airflow create``: Airflow imports them without errors
or cycles (its DagBag), and the schedule, asset, params, retries and time-outs on the loaded
DAG objects are what the flow's decorators say. What cannot be deployed is refused at create.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from airflow_venv import AirflowEnv
from flowtests import FLOWS, SHAPE_CASES

FLOWS_HERE = FLOWS / "airflow"

# Run in the Airflow venv: load the folder the way the scheduler does and describe the DAGs.
INSPECT = r"""
import json, sys
from airflow.models.dagbag import DagBag

bag = DagBag(sys.argv[1], include_examples=False)
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    dag.check_cycle()
    finish = dag.get_task("flowkit-finish")
    out["dags"][dag_id] = {
        "timetable": type(dag.timetable).__name__,
        "summary": dag.timetable.summary,
        "timezone": str(getattr(dag.timetable, "_timezone", "")),
        "asset_triggers": sorted(
            a.name for _, a in dag.timetable.asset_condition.iter_assets()
        ) if hasattr(dag.timetable, "asset_condition") else [],
        "outlets": [a.name for a in finish.outlets],
        "params": {
        k: {"value": p.value, "schema": p.schema, "description": p.description}
        for k, p in dag.params.items()
    },
        "tasks": {
            t.task_id: {
                "retries": t.retries,
                "retry_delay": t.retry_delay.total_seconds(),
                "timeout": t.execution_timeout.total_seconds() if t.execution_timeout else None,
                "trigger_rule": getattr(t.trigger_rule, "value", str(t.trigger_rule)),
                "upstream": sorted(t.upstream_task_ids),
            }
            for t in dag.tasks
        },
    }
print(json.dumps(out))
"""


def _create(airflow_env: AirflowEnv, flow: Path, dag_file: Path, work: Path, *args: str):
    return airflow_env.flow(
        flow,
        *args,
        "airflow",
        "create",
        str(dag_file),
        cwd=work,
        FLOWKIT_DATASTORE_ROOT=str(work / "datastore"),
    )


@pytest.fixture(scope="module")
def loaded(airflow_env: AirflowEnv, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every shape and the flows of tests/flows/airflow, created into one folder and loaded."""
    work = tmp_path_factory.mktemp("airflow-dagbag")
    folder = work / "dags"
    for name in SHAPE_CASES:
        if "recursive" in name or name == "parallel":
            continue
        done = _create(airflow_env, SHAPE_CASES[name].file, folder / f"{name}.py", work)
        assert done.returncode == 0, done.stdout + done.stderr
    for flow in ("scheduled.py", "downstream.py"):
        done = _create(airflow_env, FLOWS_HERE / flow, folder / flow, work)
        assert done.returncode == 0, done.stdout + done.stderr
    done = _create(
        airflow_env, FLOWS_HERE / "scheduled.py", folder / "scheduled_prod.py", work, "--production"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    inspected = subprocess.run(
        [str(airflow_env.python), "-c", INSPECT, str(folder)],
        env=airflow_env.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert inspected.returncode == 0, inspected.stderr[-5000:]
    return json.loads(inspected.stdout.strip().splitlines()[-1])


def test_airflow_dagbag_imports_every_dag_without_errors(loaded: dict) -> None:
    assert loaded["errors"] == {}
    expected = {c.flow for n, c in SHAPE_CASES.items() if "recursive" not in n and n != "parallel"}
    # @project: the dag id names the project and branch, so test and production stay apart
    user_branch = [d for d in loaded["dags"] if d.startswith("airflow_demo.user.")]
    assert len(user_branch) == 1 and user_branch[0].endswith(".ScheduledFlow")
    assert "airflow_demo.prod.ScheduledFlow" in loaded["dags"]
    assert set(loaded["dags"]) == expected | {
        "DownstreamFlow",
        "airflow_demo.prod.ScheduledFlow",
        user_branch[0],
    }


def test_airflow_schedule_params_retry_timeout_on_the_dag(loaded: dict) -> None:
    dag = loaded["dags"]["airflow_demo.prod.ScheduledFlow"]
    assert dag["timetable"] == "CronTriggerTimetable"
    assert dag["summary"] == "0 6 * * 1-5"
    assert dag["timezone"] == "Europe/Berlin"
    params = dag["params"]
    assert params["rows"] == {
        "value": 3,
        "schema": {"type": "integer"},
        "description": "how many rows",
    }
    assert params["rate"]["value"] == 0.5 and params["rate"]["schema"]["type"] == "number"
    assert params["label"]["value"] == "daily" and params["label"]["schema"]["type"] == "string"
    assert params["dry"]["value"] is False and params["dry"]["schema"]["type"] == "boolean"
    start = dag["tasks"]["start"]
    assert start["retries"] == 2 and start["retry_delay"] == 30.0 and start["timeout"] == 300.0
    assert dag["tasks"]["end"]["retries"] == 0 and dag["tasks"]["end"]["timeout"] is None
    assert dag["outlets"] == ["flowkit.airflow_demo.prod.ScheduledFlow"]
    assert dag["tasks"]["flowkit-finish"]["trigger_rule"] == "all_done"


def test_airflow_trigger_on_finish_is_an_asset_schedule(loaded: dict) -> None:
    dag = loaded["dags"]["DownstreamFlow"]
    # @trigger_on_finish and @schedule(daily): either starts a run
    assert dag["timetable"] == "AssetOrTimeSchedule"
    assert dag["asset_triggers"] == ["flowkit.UpstreamFlow"]
    assert dag["outlets"] == ["flowkit.DownstreamFlow"]


def test_airflow_nested_foreach_is_flat_mapped_groups(loaded: dict) -> None:
    tasks = loaded["dags"]["NestedForeachFlow"]["tasks"]
    assert tasks["outer_splits.inner"]["upstream"] == ["fan_out_outer"]
    assert tasks["fan_out_outer"]["upstream"] == ["fan_out_start", "start_splits.outer"]
    assert tasks["outer_join"]["upstream"] == ["start_splits_1.inner_join"]
    assert tasks["start"]["trigger_rule"] == "all_success"
    assert tasks["end"]["trigger_rule"] == "none_failed"


@pytest.mark.parametrize(
    ("flow", "says"),
    [
        (SHAPE_CASES["recursive_switch"].file, "an Airflow DAG has no cycles"),
        (SHAPE_CASES["parallel"].file, "@parallel gang"),
    ],
)
def test_airflow_create_refuses_what_it_cannot_run(
    airflow_env: AirflowEnv, tmp_path: Path, flow: Path, says: str
) -> None:
    done = _create(airflow_env, flow, tmp_path / "dags" / "x.py", tmp_path)
    assert done.returncode != 0
    assert says in done.stderr
    assert "Fix:" in done.stderr
    assert not (tmp_path / "dags" / "x.py").exists()
