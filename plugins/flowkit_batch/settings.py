"""The Batch plugin's settings: ``batch_queue``, ``batch_image``, ``batch_job_role``,
``batch_poll_interval`` (variables ``FLOWKIT_BATCH_QUEUE`` ...), read like flowkit's own.

Registered as the ``settings.batch`` entry point, so ``flowkit config`` lists them; this module
imports nothing from AWS for that reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowkit.extend import declare_settings


@dataclass(frozen=True)
class BatchSettings:
    """Defaults for ``@batch`` steps.

    Attributes:
        queue: AWS Batch job queue for ``@batch`` steps that name none (``batch_queue``).
        image: Container image for ``@batch`` steps that name none; it must have flowkit and
            its ``[aws]`` dependencies installed (``batch_image``).
        job_role: IAM role ARN the Batch jobs run as (their S3 access); ``None``: the compute
            environment's instance role (``batch_job_role``).
        poll_interval: Longest wait, in seconds, between two checks of Batch job states (checks
            start every second and slow down to this while nothing changes;
            ``batch_poll_interval``).
    """

    queue: str | None = None
    image: str | None = None
    job_role: str | None = None
    poll_interval: float = 10.0


SETTINGS = declare_settings("batch", BatchSettings)
