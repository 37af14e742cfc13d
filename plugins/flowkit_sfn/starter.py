"""The *starter*: a one-task state machine that turns S3 events into at most one run per object.

S3 delivers its EventBridge events at least once, and an EventBridge rule that targets a state
machine directly starts an execution with a random name, so a duplicated event would start a
second run. The ``@trigger`` rules therefore target this small state machine (one per deployed
flow, ``<stem>-starter``), whose only task calls ``StartExecution`` on the flow's state machine
with a ``Name`` computed from the object's identity by intrinsic functions:

    ``s3-`` + SHA-256 of ``<bucket>/<key>/<version id>/<etag>`` (67 characters)

A duplicate event computes the same name; Step Functions then either answers with the run
already started (same name and input, still running) or fails the call with
``ExecutionAlreadyExists``, which the starter catches and ends in success: "duplicate event,
run already started". :func:`execution_name_for_object` computes the same name in Python.

Names are unique per state machine for 90 days after an execution closes (Standard workflows):
an event repeated after that would start a new run.
"""

from __future__ import annotations

import hashlib
from typing import Any

#: The Step Functions service integration that starts another state machine (request-response).
START_EXECUTION = "arn:aws:states:::states:startExecution"
#: The error Step Functions' integration raises for a name already used.
ALREADY_EXISTS = "StepFunctions.ExecutionAlreadyExistsException"
#: What the starter's name says before the hash.
NAME_PREFIX = "s3-"
#: The object identity, in the order hashed (each a field of the execution input's trigger).
IDENTITY_FIELDS = ("bucket", "key", "version_id", "etag")

_NAME_EXPRESSION = (
    f"States.Format('{NAME_PREFIX}{{}}', States.Hash(States.Format('{{}}/{{}}/{{}}/{{}}', "
    + ", ".join(f"$.trigger.{field}" for field in IDENTITY_FIELDS)
    + "), 'SHA-256'))"
)


def execution_name_for_object(bucket: str, key: str, version_id: str, etag: str) -> str:
    """The execution name the starter gives the run of one S3 object (what its ASL computes).

    ``s3-`` and the SHA-256 hex digest of ``bucket/key/version_id/etag``: 67 characters of
    ``a-z 0-9 -``, the same for every delivery of one object version. The identity cannot be
    read two ways: bucket names, version ids and etags hold no ``/``.

    Args:
        bucket: The bucket name.
        key: The object key.
        version_id: The version id (``""`` in a bucket without versioning).
        etag: The object's etag, without quotes.
    """
    identity = "/".join((bucket, key, version_id, etag))
    return NAME_PREFIX + hashlib.sha256(identity.encode()).hexdigest()


def starter_definition(state_machine_arn: str, flow_state_machine: str) -> dict[str, Any]:
    """The starter's Amazon States Language document.

    Its input is the flow's execution input, built by the rule's input transformer:
    ``{"parameters": {...}, "trigger": {"type": "s3", "bucket", "key", "version_id", "etag",
    "url"}}``; it is passed on unchanged.

    Args:
        state_machine_arn: The flow's state machine, which the starter starts.
        flow_state_machine: Its name, for the comment.
    """
    return {
        "Comment": (
            f"flowkit starter of {flow_state_machine}: one run per S3 object, named from "
            "the object's identity, so a duplicated event starts no second run"
        ),
        "StartAt": "StartRun",
        "States": {
            "StartRun": {
                "Type": "Task",
                "Resource": START_EXECUTION,
                "Parameters": {
                    "StateMachineArn": state_machine_arn,
                    "Name.$": _NAME_EXPRESSION,
                    "Input.$": "$",
                },
                "Retry": [
                    {
                        # too many running executions, or a network hiccup: try again later
                        "ErrorEquals": [
                            "StepFunctions.ExecutionLimitExceededException",
                            "StepFunctions.SdkClientException",
                        ],
                        "IntervalSeconds": 5,
                        "MaxAttempts": 5,
                        "BackoffRate": 2.0,
                    }
                ],
                "Catch": [{"ErrorEquals": [ALREADY_EXISTS], "Next": "AlreadyStarted"}],
                "End": True,
            },
            "AlreadyStarted": {
                "Type": "Succeed",
                "Comment": "duplicate event, run already started",
            },
        },
    }
