"""``--with batch`` on a branch + foreach flow: every step a job, the foreach one array job."""

from __future__ import annotations

from flowtests import FLOWS, end_artifact

FANOUT = FLOWS / "batch" / "fanout.py"
ONE_STEP = FLOWS / "batch" / "one_batch_step.py"


def test_batch_with_everywhere_on_branch_and_foreach(batch_flow):
    result = batch_flow(
        FANOUT, "run", "--width", "6", "--with", "batch:queue=gpu-queue,memory=32000"
    )
    assert result.returncode == 0, result.output
    store = batch_flow.store("FanoutFlow")
    assert end_artifact(store, "1")["values"] == [0, 1, 4, 9, 16, 25]
    # Each split found its task by its index in the array job.
    assert end_artifact(store, "1", "array_indexes") == [str(i) for i in range(6)]
    for i in range(6):
        assert f"split {i}: {i}^2 = {i * i}" in result.stdout
    jobs = batch_flow.jobs("FanoutFlow-1-")
    by_name = {job["jobName"]: job for job in jobs}
    # 6 single jobs (start, squares, label, collect, join, end) and one array job of 6.
    [array] = [j for j in jobs if j.get("arrayProperties", {}).get("size")]
    assert array["jobName"] == "FanoutFlow-1-square-4-to-9-a0"
    assert array["arrayProperties"]["size"] == 6
    assert {"FanoutFlow-1-start-1-a0", "FanoutFlow-1-end-12-a0"} <= set(by_name)
    assert all(job["jobQueue"].endswith("job-queue/gpu-queue") for job in jobs)
    definitions = batch_flow.fake.batch.describe_job_definitions(
        jobDefinitions=sorted({job["jobDefinition"] for job in jobs})
    )["jobDefinitions"]
    assert len(definitions) == 1  # same image and resources for every step: one definition
    requirements = definitions[0]["containerProperties"]["resourceRequirements"]
    assert {"type": "MEMORY", "value": "32000"} in requirements
    assert "FanoutFlow-1-square-4-to-9-a0" in result.stderr
    assert "submitted 6 tasks" in result.stderr


def test_batch_throttled_submissions_are_retried(batch_flow):
    # The fake refuses the first submissions to this queue with TooManyRequestsException.
    result = batch_flow(ONE_STEP, "run", FLOWKIT_BATCH_QUEUE="throttled-queue")
    assert result.returncode == 0, result.output
    assert "flowkit: AWS is throttling submit_job (TooManyRequestsException)" in result.stderr
    [job] = batch_flow.jobs("OneBatchStepFlow-1-train-2-a0")
    assert job["status"] == "SUCCEEDED"
