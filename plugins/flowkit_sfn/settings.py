"""The Step Functions plugin's settings: ``sfn_role_arn``, ``sfn_table``, ``sfn_inline_limit``
(variables ``FLOWKIT_SFN_ROLE_ARN`` ...), read like flowkit's own.

Registered as the ``settings.sfn`` entry point, so ``flowkit config`` lists them; this module
imports nothing from AWS for that reason. Where jobs run (queue, image, job role) are the Batch
plugin's settings (``batch_queue``, ``batch_image``, ``batch_job_role``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flowkit.extend import declare_settings


@dataclass(frozen=True)
class SfnSettings:
    """Where ``step-functions create`` deploys.

    Attributes:
        role_arn: IAM role ARN the state machine runs as: it submits Batch jobs and reads the
            DynamoDB table (``sfn_role_arn``). Required by ``create``.
        table: DynamoDB table of foreach widths and switch choices, created when missing
            (``sfn_table``).
        inline_limit: Widest foreach run as an inline Map; wider ones run as a distributed Map
            (``sfn_inline_limit``, 1..1000).
    """

    role_arn: str | None = None
    table: str = "flowkit-sfn"
    inline_limit: int = 500


SETTINGS = declare_settings("sfn", SfnSettings)
