"""What a Batch job is made of, computed without AWS: settings, definitions, names, limits."""

from __future__ import annotations

import pytest

from flowkit.decorators.base import DecoratorArgumentError
from flowkit.decorators.builtin import EnvironmentDecorator, ResourcesDecorator
from flowkit.runtime.spec import TaskSpec
from flowkit_batch import BatchDecorator, BatchSettings
from flowkit_batch.api import Throttle
from flowkit_batch.executor import _report
from flowkit_batch.jobs import (
    BatchConfigError,
    attempt_seconds,
    check_environment,
    definition_body,
    definition_name,
    fits_inline,
    job_environment,
    job_name,
    job_settings,
)

SETTINGS = BatchSettings(queue="default-q", image="img:1", job_role="arn:role")


def test_batch_arguments_override_resources_which_override_defaults():
    decos = [BatchDecorator(cpu=2.5, queue="fast"), ResourcesDecorator(cpu=8, memory=2048)]
    job = job_settings("train", decos, SETTINGS)
    assert (job.cpu, job.memory, job.gpu) == (3, 2048, 0)  # vCPUs are whole on EC2
    assert (job.queue, job.image, job.job_role) == ("fast", "img:1", "arn:role")
    alone = job_settings("train", [BatchDecorator()], SETTINGS)
    assert (alone.cpu, alone.memory, alone.gpu, alone.queue) == (1, 4096, 0, "default-q")


def test_batch_settings_say_what_is_missing():
    with pytest.raises(BatchConfigError, match="no job queue is set") as queue:
        job_settings("train", [BatchDecorator()], BatchSettings(image="img"))
    assert "FLOWKIT_BATCH_QUEUE" in queue.value.hint
    with pytest.raises(BatchConfigError, match="no container image is set"):
        job_settings("train", [BatchDecorator()], BatchSettings(queue="q"))


@pytest.mark.parametrize(
    "kwargs", [{"cpu": 0}, {"memory": 2}, {"gpu": 1.5}, {"queue": ""}, {"image": 3}, {"cpus": 2}]
)
def test_batch_decorator_rejects_bad_arguments(kwargs):
    with pytest.raises(DecoratorArgumentError):
        BatchDecorator(**kwargs)


def test_batch_definition_name_is_a_hash_of_its_content():
    small = definition_body(job_settings("a", [BatchDecorator()], SETTINGS))
    same = definition_body(job_settings("b", [BatchDecorator()], SETTINGS))
    gpu = definition_body(job_settings("c", [BatchDecorator(gpu=1)], SETTINGS))
    assert definition_name(small) == definition_name(same)
    assert definition_name(small) != definition_name(gpu)
    assert {"type": "GPU", "value": "1"} in gpu["containerProperties"]["resourceRequirements"]
    assert small["retryStrategy"] == {"attempts": 1}  # flowkit retries, as new jobs


def test_batch_names_limits_and_inline_commands():
    assert job_name("Flow", "12", "train", "3", "a0") == "Flow-12-train-3-a0"
    assert job_name("F", "x.y/z" * 40) == ("F-" + "x-y-z" * 40)[:128]
    assert attempt_seconds(None) is None
    assert attempt_seconds(2) == 60  # Batch's minimum; flowkit enforces the 2 s itself
    assert attempt_seconds(90.2) == 91
    assert fits_inline(["step", "join", "--parent", "1/a/2"])
    assert not fits_inline(["--parent", "1/work/12345"] * 400)  # a join of 400 splits


def test_batch_environment_never_carries_credentials():
    leaky = EnvironmentDecorator(vars={"AWS_SECRET_ACCESS_KEY": "s3cr3t", "OK": "1"})
    with pytest.raises(BatchConfigError, match="AWS_SECRET_ACCESS_KEY") as refused:
        check_environment("train", [BatchDecorator(), leaky])
    assert "IAM role" in refused.value.hint
    spec = TaskSpec("train", "7", 1, [])
    env = job_environment("s3://b/p", "F", "3", spec, [leaky], task_id="7", region="eu-west-1")
    names = {e["name"]: e["value"] for e in env}
    assert "AWS_SECRET_ACCESS_KEY" not in names and names["OK"] == "1"
    assert names["FLOWKIT_ATTEMPT"] == "1" and names["FLOWKIT_AWS_REGION"] == "eu-west-1"


def test_batch_describe_answers_become_reports():
    running = _report({"jobId": "j", "status": "RUNNING", "container": {"logStreamName": "s/1"}})
    assert (running.phase, running.log_stream, running.succeeded) == ("running", "s/1", False)
    starting = _report({"jobId": "j", "status": "STARTING"})
    assert starting.phase == "queued"  # @timeout counts from RUNNING, like attemptDuration
    timed_out = _report(
        {
            "jobId": "j",
            "status": "FAILED",
            "statusReason": "Job attempt duration exceeded timeout",
            "attempts": [{"container": {"exitCode": 137, "reason": "OutOfMemoryError"}}],
        }
    )
    assert timed_out.timed_out and timed_out.exit_code == 137
    assert timed_out.reason == "Job attempt duration exceeded timeout; OutOfMemoryError"


def test_batch_throttle_paces_calls():
    # the pacing's wall-clock figures are measured by benchmarks/bench_throttle.py
    gate = Throttle(rate=50, burst=2)
    waits = [gate.wait() for _ in range(7)]
    assert waits[:2] == [0.0, 0.0]  # the burst goes at once
    assert all(0.0 <= w <= 1 / 50 + 1e-9 for w in waits[2:])  # then one call per 1/rate at most
