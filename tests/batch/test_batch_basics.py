"""One @batch step between local steps: what the user sees, and what was sent to AWS Batch."""

from __future__ import annotations

import json

from fakebatch import IMAGE, QUEUE
from flowtests import FLOWS, end_artifact

FLOW = FLOWS / "batch" / "one_batch_step.py"


def test_batch_step_between_local_steps(batch_flow):
    result = batch_flow(FLOW, "run")
    assert result.returncode == 0, result.output
    # The job's output comes back live, with the same prefix as a local task's.
    assert "[1/train/2] training on OneBatchStepFlow/1/train/2 with hello from the job" in (
        result.stdout
    )
    assert "[1/train/2] task id in the job environment: 2" in result.stdout
    # Each state change the runner sees is reported; a job this short may go from queued to
    # SUCCEEDED between two polls on a loaded machine, so RUNNING is not required here.
    label = "[1/train/2] Batch job OneBatchStepFlow-1-train-2-a0"
    states = [line.rpartition(": ")[2] for line in result.stderr.splitlines() if label in line]
    assert states[-1] == "SUCCEEDED", result.stderr
    assert set(states) <= {"submitted", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"}
    store = batch_flow.store("OneBatchStepFlow")
    train = store.read_manifest("1", "train", "2")
    assert train.status == "succeeded"
    assert b"training on" in store.read_log("1", "train", "2", 0, "stdout")
    [job] = batch_flow.jobs("OneBatchStepFlow-1-train-2-a0")
    assert end_artifact(store, "1", "job_id") == job["jobId"]
    # the plugin records its job in its own namespace of the task's manifest
    assert train.plugin_data["batch"]["job_id"] == job["jobId"]
    assert "batch" not in store.read_manifest("1", "start", "1").plugin_data
    assert end_artifact(store, "1", "total") == 6
    # start and end ran here, not as jobs.
    assert end_artifact(store, "1", "job_key") == "job-role-key"
    assert batch_flow.jobs("OneBatchStepFlow-1-start") == []
    assert "[1/end/3] total 6 computed by job" in result.stdout


def test_batch_job_definition_and_environment(batch_flow):
    first = batch_flow(FLOW, "run")
    second = batch_flow(FLOW, "run")
    assert first.returncode == 0 and second.returncode == 0, first.output + second.output
    # @resources(cpu=8) on a Batch step sizes the job: no "this machine is too small" warning
    assert "asks for 8 CPUs" not in first.stderr
    fake = batch_flow.fake
    [job] = batch_flow.jobs("OneBatchStepFlow-1-train-2-a0")
    [again] = batch_flow.jobs("OneBatchStepFlow-2-train-2-a0")
    # One definition per distinct content, named from its hash, reused by the second run.
    assert job["jobDefinition"] == again["jobDefinition"]
    definition = fake.batch.describe_job_definitions(jobDefinitions=[job["jobDefinition"]])
    [body] = definition["jobDefinitions"]
    assert body["jobDefinitionName"].startswith("flowkit-")
    revisions = fake.batch.describe_job_definitions(jobDefinitionName=body["jobDefinitionName"])
    assert len(revisions["jobDefinitions"]) == 1
    container = body["containerProperties"]
    assert container["image"] == IMAGE
    assert container["jobRoleArn"] == fake.job_role
    # @batch(cpu=2) wins over @resources(cpu=8); memory comes from @resources; no GPU asked.
    assert {r["type"]: r["value"] for r in container["resourceRequirements"]} == {
        "VCPU": "2",
        "MEMORY": "2048",
    }
    assert job["jobQueue"].endswith(f"job-queue/{QUEUE}")
    env = {e["name"]: e["value"] for e in job["container"]["environment"]}
    assert env["FLOWKIT_DATASTORE_ROOT"] == batch_flow.url
    assert (env["FLOWKIT_FLOW_NAME"], env["FLOWKIT_RUN_ID"]) == ("OneBatchStepFlow", "1")
    assert (env["FLOWKIT_STEP_NAME"], env["FLOWKIT_TASK_ID"], env["FLOWKIT_ATTEMPT"]) == (
        "train",
        "2",
        "0",
    )
    assert env["GREETING"] == "hello from the job"  # @environment
    command = job["container"]["command"]
    assert command[:3] == ["python", "-m", "flowkit_batch.bootstrap"]
    assert command[command.index("--") + 1 :][:2] == ["step", "train"]
    # Never the submitter's credentials: not in the job, not in its definition.
    sent = json.dumps([job, body])
    assert not any(name.startswith("AWS_") for name in env if name != "AWS_BATCH_JOB_ID")
    assert fake.server.secret_key not in sent
    assert fake.server.access_key not in sent
    assert "registered the AWS Batch job definition" not in second.stderr


def test_batch_refuses_a_local_datastore(run_flow):
    result = run_flow(FLOW, "run", FLOWKIT_BATCH_QUEUE=QUEUE, FLOWKIT_BATCH_IMAGE=IMAGE)
    assert result.returncode == 2, result.output
    assert "step(s) train run on AWS Batch, but the datastore" in result.stderr
    assert "is a folder on this machine" in result.stderr
    assert "FLOWKIT_DATASTORE_ROOT=s3://" in result.stderr
    assert run_flow.store("OneBatchStepFlow").run_ids() == []  # refused before anything ran


def test_batch_unknown_queue_is_refused_before_the_run(batch_flow):
    result = batch_flow(FLOW, "run", FLOWKIT_BATCH_QUEUE="no-such-queue")
    assert result.returncode == 2, result.output
    assert "the AWS Batch job queue 'no-such-queue' does not exist" in result.stderr
    assert batch_flow.store("OneBatchStepFlow").run_ids() == []
    no_image = batch_flow(FLOW, "run", FLOWKIT_BATCH_IMAGE="")
    assert no_image.returncode == 2, no_image.output
    assert "step 'train' runs on AWS Batch but no container image is set" in no_image.stderr
