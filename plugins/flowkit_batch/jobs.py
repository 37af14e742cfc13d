"""What a Batch job is made of: its definition, name, command and environment.

Everything here is computed from the run and the step's decorators, without calling AWS, so it
can be read (and tested) on its own.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flowkit.extend import FlowkitError, StepDecorator, TaskSpec
from flowkit_batch.decorator import RESOURCE_ARGS
from flowkit_batch.settings import BatchSettings

#: Used for what neither ``@batch`` nor ``@resources`` gives (as ``@resources``'s defaults).
DEFAULT_RESOURCES = {"cpu": 1, "memory": 4096, "gpu": 0}
#: Where Batch's default ``awslogs`` log driver writes every job's output.
LOG_GROUP = "/aws/batch/job"
#: AWS Batch refuses attempt durations below a minute; flowkit enforces shorter ones itself.
MIN_ATTEMPT_SECONDS = 60
#: Longest command line sent inline; longer ones (a join of many splits) go in a plan blob.
INLINE_ARGV_BYTES = 4096
_NAME_LIMIT = 128
_CREDENTIAL_VARS = frozenset(
    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"}
)


class BatchConfigError(FlowkitError):
    """A run cannot go to AWS Batch as configured; the message says what to set."""

    exit_code = 2
    headline = "AWS Batch"


@dataclass(frozen=True)
class JobSettings:
    """The resolved Batch settings of one step.

    Attributes:
        queue: Job queue name or ARN.
        image: Container image.
        job_role: IAM role ARN of the job, or ``None`` for the instance role.
        cpu: vCPUs (whole, as EC2 compute environments require).
        memory: MiB.
        gpu: GPUs.
    """

    queue: str
    image: str
    job_role: str | None
    cpu: int
    memory: int
    gpu: int


def _find(decorators: list[StepDecorator], name: str) -> StepDecorator | None:
    return next((d for d in decorators if d.name == name), None)


def job_settings(
    step: str, decorators: list[StepDecorator], settings: BatchSettings
) -> JobSettings:
    """Merge ``@batch``, ``@resources`` and the Batch plugin's settings for ``step``.

    Raises:
        BatchConfigError: No queue or no image is known for the step.
    """
    batch = _find(decorators, "batch")
    given = dict(batch.attributes) if batch is not None else {}
    resources = _find(decorators, "resources")
    sized: dict[str, Any] = {}
    for key in RESOURCE_ARGS:
        value = given.get(key)
        if value is None and resources is not None:
            value = resources.attributes.get(key)
        sized[key] = DEFAULT_RESOURCES[key] if value is None else value
    queue = given.get("queue") or settings.queue
    image = given.get("image") or settings.image
    where = f"step {step!r} runs on AWS Batch"
    if not queue:
        raise BatchConfigError(
            f"{where} but no job queue is set",
            hint="give @batch(queue=...), --with batch:queue=..., or set FLOWKIT_BATCH_QUEUE",
        )
    if not image:
        raise BatchConfigError(
            f"{where} but no container image is set",
            hint="give @batch(image=...) or set FLOWKIT_BATCH_IMAGE to an image with flowkit "
            "and its [aws] extra installed",
        )
    return JobSettings(
        queue=str(queue),
        image=str(image),
        job_role=given.get("job_role") or settings.job_role,
        cpu=max(1, math.ceil(float(sized["cpu"]))),
        memory=int(sized["memory"]),
        gpu=int(sized["gpu"]),
    )


def check_environment(step: str, decorators: list[StepDecorator]) -> None:
    """Refuse AWS credentials in a Batch step's environment: they would be stored in the job.

    Raises:
        BatchConfigError: ``@environment`` (or another decorator) sets a credential variable.
    """
    for deco in decorators:
        leaked = sorted(_CREDENTIAL_VARS & set(deco.task_environment()))
        if leaked:
            raise BatchConfigError(
                f"step {step!r} passes {', '.join(leaked)} to its AWS Batch job through "
                f"@{deco.name}; credentials in a job are readable by anyone who can describe it",
                hint="remove them and give the job an IAM role instead (@batch(job_role=...) or "
                "FLOWKIT_BATCH_JOB_ROLE)",
                location=deco.location,
            )


def require_s3(root: str, steps: list[str]) -> None:
    """Refuse a datastore that Batch jobs cannot reach.

    Raises:
        BatchConfigError: ``root`` is not an ``s3://`` URL.
    """
    if urlsplit(root).scheme in ("s3", "s3a"):
        return
    where = "a folder on this machine" if root.startswith(("file:", "/")) else "not on S3"
    raise BatchConfigError(
        f"step(s) {', '.join(sorted(steps))} run on AWS Batch, but the datastore {root} is "
        f"{where}. A Batch job reads its inputs from the datastore and writes its results "
        "there, so the datastore must be reachable from AWS",
        hint="use an S3 datastore: set FLOWKIT_DATASTORE_ROOT=s3://BUCKET/PREFIX (or pass "
        "--datastore-root s3://BUCKET/PREFIX) that the jobs' IAM role may read and write",
    )


def definition_body(job: JobSettings) -> dict[str, Any]:
    """The job definition for ``job`` (``register_job_definition`` arguments but the name).

    Per-task things (command, environment, timeout) are submitted with each job, so one
    definition serves every task with the same image, resources and role.
    """
    requirements = [
        {"type": "VCPU", "value": str(job.cpu)},
        {"type": "MEMORY", "value": str(job.memory)},
    ]
    if job.gpu:
        requirements.append({"type": "GPU", "value": str(job.gpu)})
    container: dict[str, Any] = {
        "image": job.image,
        "command": ["python", "-m", "flowkit_batch.bootstrap"],
        "resourceRequirements": requirements,
    }
    if job.job_role:
        container["jobRoleArn"] = job.job_role
    return {
        "type": "container",
        "containerProperties": container,
        # flowkit retries itself: each attempt is a new job with its own manifest and logs.
        "retryStrategy": {"attempts": 1},
        "platformCapabilities": ["EC2"],
    }


def definition_name(body: dict[str, Any]) -> str:
    """``flowkit-<hash of the content>``: equal content, equal name, registered once."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return f"flowkit-{digest[:24]}"


def job_name(*parts: str) -> str:
    """A valid Batch job name (letters, digits, ``-`` and ``_``, at most 128) from ``parts``."""
    name = re.sub(r"[^A-Za-z0-9_-]", "-", "-".join(parts))
    return name[:_NAME_LIMIT]


def attempt_seconds(timeout: float | None) -> int | None:
    """The job's ``attemptDurationSeconds`` for a ``@timeout`` of ``timeout`` seconds."""
    if not timeout:
        return None
    return max(MIN_ATTEMPT_SECONDS, math.ceil(timeout))


def submit_request(
    name: str, queue: str, definition: str, flow: str, run_id: str, first: TaskSpec
) -> dict[str, Any]:
    """What every flowkit job's ``SubmitJob`` request holds: its name, queue and definition,
    tags naming its flow, run and step, and the ``@timeout`` backstop of ``first``'s step.

    The caller adds the overrides (one container, or the nodes of a multi-node job).
    """
    request: dict[str, Any] = {
        "jobName": name,
        "jobQueue": queue,
        "jobDefinition": definition,
        "tags": {"flowkit:flow": flow, "flowkit:run": run_id, "flowkit:step": first.step},
    }
    seconds = attempt_seconds(first.timeout)
    if seconds is not None:
        request["timeout"] = {"attemptDurationSeconds": seconds}
    return request


def fits_inline(argv: list[str]) -> bool:
    """Whether ``argv`` is short enough to travel in the job's command."""
    return len(json.dumps(argv)) <= INLINE_ARGV_BYTES


def bootstrap_command(
    flow: str,
    code_sha: str,
    flow_file: str,
    *,
    argv: list[str] | None,
    plan: str | None,
    shared: list[str] | None = None,
) -> list[str]:
    """The job's command: the bootstrap, then either the ``step`` arguments or a plan blob.

    ``shared`` are arguments every task of the job gets after its own (the ``--with`` values):
    they stay in the job's command and out of the stored plan.
    """
    command = ["python", "-m", "flowkit_batch.bootstrap", "--flow", flow, "--code", code_sha]
    command += ["--flow-file", flow_file]
    if plan is not None:
        return [*command, "--plan", plan, "--", *(shared or [])]
    return [*command, "--", *(argv or []), *(shared or [])]


def job_environment(
    root: str,
    flow: str,
    run_id: str,
    spec: TaskSpec,
    decorators: list[StepDecorator],
    *,
    task_id: str | None,
    region: str | None,
) -> list[dict[str, str]]:
    """The variables submitted with a job: the step's decorator variables, then flowkit's ids.

    Never the submitter's credentials: the job gets AWS access from its IAM role.
    ``task_id`` is ``None`` for an array job, whose tasks learn theirs from the plan.
    """
    env: dict[str, str] = {}
    for deco in decorators:
        env.update(deco.task_environment())
    env.update(
        FLOWKIT_DATASTORE_ROOT=root,
        FLOWKIT_FLOW_NAME=flow,
        FLOWKIT_RUN_ID=run_id,
        FLOWKIT_STEP_NAME=spec.step,
        FLOWKIT_ATTEMPT=str(spec.attempt),
        PYTHONUNBUFFERED="1",
    )
    if task_id is not None:
        env["FLOWKIT_TASK_ID"] = task_id
    if region:
        env["FLOWKIT_AWS_REGION"] = region
    for name in _CREDENTIAL_VARS:  # check_environment refused them; never send one anyway
        env.pop(name, None)
    return [{"name": k, "value": v} for k, v in sorted(env.items())]
