"""A step failing under Airflow is retried per ``@retry`` (each attempt its own manifest), the
DAG run fails, and the run ``airflow-<dag run id>`` is resumed locally from that failure with
the parameters the DAG run was given."""

from __future__ import annotations

import json
import time
from pathlib import Path

from airflow_venv import AirflowEnv, run_id_of
from flowtests import FLOWS, FlowRunner

from flowkit.client import ClientContext

RETRYING = FLOWS / "airflow" / "retrying.py"


def test_airflow_retries_then_resumes_locally(airflow_env: AirflowEnv, tmp_path: Path) -> None:
    root = tmp_path / "datastore"
    attempts = tmp_path / "attempts"
    attempts.mkdir()
    env = {"FLOWKIT_DATASTORE_ROOT": str(root)}
    created = airflow_env.flow(
        RETRYING, "airflow", "create", str(airflow_env.dags / "retrying.py"), cwd=tmp_path, **env
    )
    assert created.returncode == 0, created.stdout + created.stderr
    done = airflow_env.dags_test(
        "RetryingFlow",
        {"scale": 5},
        **env,
        AIRFLOW_TEST_BREAK="1",
        AIRFLOW_TEST_ATTEMPTS=str(attempts),
    )
    output = done.stdout + done.stderr
    run_id = run_id_of(output, "RetryingFlow")
    assert f"flowkit run RetryingFlow/{run_id}: failed" in output
    assert "planned failure on 2" in output
    # @retry(times=1): the split that fails ran twice, the others once
    assert sorted(p.name for p in attempts.iterdir()) == [
        "train-0.0",
        "train-1.0",
        "train-1.1",
        "train-2.0",
    ]
    context = ClientContext(str(root), chosen_by="the test")
    failed = context.run(f"RetryingFlow/{run_id}")
    assert failed.finished and not failed.successful
    assert "join" not in [step.id for step in failed]
    assert failed["train"]["train-1"].current_attempt == 1
    assert not failed["train"]["train-1"].successful

    local = FlowRunner(root, tmp_path)
    ids = tmp_path / "resumed.json"
    resumed = local(RETRYING, "resume", "--origin-run-id", run_id, "--run-id-file", str(ids))
    assert resumed.returncode == 0, resumed.output
    new = context.run(f"RetryingFlow/{json.loads(ids.read_text())['run_id']}")
    assert new.successful
    assert new.data.result == (1 + 2 + 3) * 5  # the DAG run's scale, kept by the resume
    origins = {t.id: t.origin_pathspec for step in new for t in step}
    # what succeeded under Airflow is cloned; the failed split and what follows ran again
    start = [o for t, o in origins.items() if o and o.endswith("/start/start")]
    assert start == [f"RetryingFlow/{run_id}/start/start"]
    cloned_train = sorted(o for o in origins.values() if o and "/train/" in o)
    assert cloned_train == [
        f"RetryingFlow/{run_id}/train/train-0",
        f"RetryingFlow/{run_id}/train/train-2",
    ]


def test_airflow_catch_after_the_last_retry(airflow_env: AirflowEnv, tmp_path: Path) -> None:
    flow = FLOWS / "airflow" / "catching.py"
    root = tmp_path / "datastore"
    env = {"FLOWKIT_DATASTORE_ROOT": str(root)}
    created = airflow_env.flow(
        flow, "airflow", "create", str(airflow_env.dags / "catching.py"), cwd=tmp_path, **env
    )
    assert created.returncode == 0, created.stdout + created.stderr
    done = airflow_env.dags_test("CatchingFlow", None, **env)
    output = done.stdout + done.stderr
    run_id = run_id_of(output, "CatchingFlow")
    assert f"flowkit run CatchingFlow/{run_id}: succeeded" in output
    run = ClientContext(str(root), chosen_by="the test").run(f"CatchingFlow/{run_id}")
    assert run.data.result == {
        "ys": [10, None, 30],
        "errors": [None, "ValueError: no good on 2", None],
    }
    caught = run["train"]["train-1"]
    assert caught.successful and caught.current_attempt == 1  # retried once, then caught
    # the same as a local run
    local = FlowRunner(root, tmp_path)(flow, "run")
    assert local.returncode == 0, local.output


def test_airflow_timeout_stops_the_step(airflow_env: AirflowEnv, tmp_path: Path) -> None:
    """``@timeout`` is the task's execution_timeout: Airflow stops the step's process (which
    leaves nothing in $TMPDIR, checked at the end of the session) and the run fails."""
    flow = FLOWS / "airflow" / "slow.py"
    root = tmp_path / "datastore"
    env = {"FLOWKIT_DATASTORE_ROOT": str(root)}
    created = airflow_env.flow(
        flow, "airflow", "create", str(airflow_env.dags / "slow.py"), cwd=tmp_path, **env
    )
    assert created.returncode == 0, created.stdout + created.stderr
    started = time.monotonic()
    done = airflow_env.dags_test("SlowFlow", None, **env, AIRFLOW_TEST_SLEEP="600")
    assert time.monotonic() - started < 300
    output = done.stdout + done.stderr
    run_id = run_id_of(output, "SlowFlow")
    assert f"flowkit run SlowFlow/{run_id}: failed" in output
    assert "Timeout" in output
    run = ClientContext(str(root), chosen_by="the test").run(f"SlowFlow/{run_id}")
    assert run.finished and not run.successful
    assert "end" not in [step.id for step in run]
