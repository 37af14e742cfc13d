"""A flow whose middle step has ``@batch``, deployed to Airflow with the fake AWS's S3 datastore:
the Airflow task of that step submits it as an AWS Batch job and waits for it; the other steps
run on the Airflow worker, and the run's artifacts are those of a ``python flow.py run``."""

from __future__ import annotations

from pathlib import Path

from airflow_venv import AirflowEnv, run_id_of
from fakebatch import BatchFlowRunner
from flowtests import FLOWS, end_artifact

FLOW = FLOWS / "batch" / "one_batch_step.py"
NAME = "OneBatchStepFlow"


def test_airflow_runs_a_batch_step_as_a_batch_job(
    airflow_env: AirflowEnv, batch_flow: BatchFlowRunner, tmp_path: Path
) -> None:
    base = {k: v for k, v in airflow_env.env.items() if not k.startswith("AWS_")}
    env = batch_flow.fake.flowkit_env(batch_flow.url, base)
    env["FLOWKIT_BATCH_POLL_INTERVAL"] = "0.5"
    created = airflow_env.flow(
        FLOW,
        "airflow",
        "--name",
        "BatchStepOnAirflow",
        "create",
        str(airflow_env.dags / "batch_step.py"),
        cwd=tmp_path,
        **env,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    local = batch_flow(FLOW, "run")
    assert local.returncode == 0, local.output
    done = airflow_env.dags_test("BatchStepOnAirflow", {}, **env)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    run_id = run_id_of(output, NAME)
    assert f"flowkit run {NAME}/{run_id}: succeeded" in output
    # the step ran as a Batch job under the Airflow run's id and its deterministic task id ...
    [job] = batch_flow.jobs(f"{NAME}-{run_id}-train-train-a0".replace(".", "-"))
    assert job["status"] == "SUCCEEDED"
    env_of_job = {e["name"]: e["value"] for e in job["container"]["environment"]}
    assert (env_of_job["FLOWKIT_RUN_ID"], env_of_job["FLOWKIT_TASK_ID"]) == (run_id, "train")
    # ... whose log the Airflow task streamed
    assert f"training on {NAME}/{run_id}/train/train with hello from the job" in output
    store = batch_flow.store(NAME)
    assert end_artifact(store, run_id, "job_id") == job["jobId"]
    train = store.read_manifest(run_id, "train", "train")
    assert train.plugin_data["batch"]["job_id"] == job["jobId"]
    # start and end ran on the Airflow worker, not as jobs
    assert batch_flow.jobs(f"{NAME}-{run_id}-start") == []
    assert batch_flow.jobs(f"{NAME}-{run_id}-end") == []
    for name in ("total", "numbers", "job_key"):
        assert end_artifact(store, run_id, name) == end_artifact(store, "1", name)
    assert not (tmp_path / ".flowkit").exists()
