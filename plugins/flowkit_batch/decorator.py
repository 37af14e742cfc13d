"""``@batch``: the step decorator that sends a step to AWS Batch."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from flowkit.extend import StepDecorator, step_decorator

#: Resource arguments shared with ``@resources``; ``None`` here means "not given".
RESOURCE_ARGS = ("cpu", "memory", "gpu")
_TEXT_ARGS = ("image", "queue", "job_role")


class BatchDecorator(StepDecorator):
    """Run the step as an AWS Batch job; the rest of the flow stays where it is.

    Arguments not given come from ``@resources`` on the same step (``cpu``, ``memory``,
    ``gpu``) and from the plugin's settings (``batch_queue``, ``batch_image``, ``batch_job_role``).

    Args:
        cpu: vCPUs for the job (rounded up to a whole number).
        memory: Memory for the job, in MiB.
        gpu: GPUs for the job.
        image: Container image; it must have flowkit and its ``[aws]`` extra installed.
        queue: Name or ARN of the job queue.
        job_role: ARN of the IAM role the job runs as (it needs the datastore's S3 access).
    """

    name = "batch"
    defaults: ClassVar[dict[str, Any]] = {
        "cpu": None,
        "memory": None,
        "gpu": None,
        "image": None,
        "queue": None,
        "job_role": None,
    }

    def validate(self) -> None:
        for key, minimum in (("cpu", 0.0), ("memory", 4), ("gpu", 0)):
            value = self.attributes[key]
            if value is None:
                continue
            whole = key != "cpu"
            kinds = (int,) if whole else (int, float)
            if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
                kind = "a whole number" if whole else "a number"
                raise self._bad(
                    f"{key}={value!r} must be {kind} >= {minimum:g}", f"e.g. @batch({key}=2)"
                )
        if self.attributes["cpu"] == 0:
            raise self._bad("cpu=0 leaves the job no processor", "e.g. @batch(cpu=1)")
        for key in _TEXT_ARGS:
            value = self.attributes[key]
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise self._bad(f"{key}={value!r} must be a non-empty string", f'{key}="..."')

    def executor_name(self) -> str:
        return "batch"

    def task_record(self) -> dict[str, Any]:
        """The Batch job that ran the task, kept in its manifest as ``plugin_data["batch"]``."""
        job_id = os.environ.get("AWS_BATCH_JOB_ID")
        if not job_id:  # not inside a Batch job (e.g. a local ``step`` command)
            return {}
        return {"job_id": job_id, "job_attempt": os.environ.get("AWS_BATCH_JOB_ATTEMPT", "")}


batch = step_decorator(BatchDecorator)
