"""``step-functions create``: the AWS resources of a deployed flow, made or updated only when
they differ from what is wanted (re-deploying the same code and options calls no update).

In order (the AWS calls in brackets):

1. the code snapshot, stored content-addressed in the datastore (S3 ``HeadObject``, and
   ``PutObject`` only for new code) — the jobs run exactly this code;
2. the Batch job definition (``DescribeJobDefinitions``; ``RegisterJobDefinition`` when none
   is active with that content — its name is a hash of the content): image and job role from
   the Batch plugin's settings, the datastore root and table as environment variables, never a
   credential;
3. the DynamoDB table of foreach widths and switch choices (``DescribeTable``; ``CreateTable``
   when missing);
4. the state machine (``ListStateMachines``, ``DescribeStateMachine``; ``CreateStateMachine``
   or, when the definition or role differ, ``UpdateStateMachine``);
5. the flow's schedules and rules (:mod:`flowkit_sfn.events`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flowkit.extend import FlowDatastore, FlowkitError
from flowkit_sfn.aws import SfnUnavailable, aws_error_code

#: Environment variables no job definition may carry (the job's IAM role gives access).
CREDENTIAL_VARIABLES = frozenset(
    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"}
)


class DeployConfigError(FlowkitError):
    """Something ``create`` needs is not configured; the message says which setting."""

    exit_code = 2
    headline = "step-functions"


@dataclass
class Deployment:
    """What ``create`` made or found.

    Attributes:
        name: The state machine's name.
        arn: The state machine's ARN.
        code: Content hash of the deployed code snapshot.
        job_definition: Name of the Batch job definition.
        calls: The AWS calls that changed something (``CreateStateMachine`` ...), in order.
        events: What the EventBridge side made.
    """

    name: str
    arn: str = ""
    code: str = ""
    job_definition: str = ""
    calls: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


def store_code(store: FlowDatastore, data: bytes) -> tuple[str, bool]:
    """Store the code snapshot; return its content hash and whether it was new."""
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    if store.content.exists(digest):
        return digest, False
    return store.content.put([data]), True


def job_definition_body(
    image: str, job_role: str | None, environment: dict[str, str]
) -> dict[str, Any]:
    """The ``RegisterJobDefinition`` arguments but the name: the task command, one vCPU and
    4 GiB unless a step asks for more (given per job), flowkit's variables, no credential.

    Raises:
        DeployConfigError: ``environment`` holds an AWS credential.
    """
    leaked = sorted(CREDENTIAL_VARIABLES & set(environment))
    if leaked:
        raise DeployConfigError(
            f"the job definition would carry {', '.join(leaked)}",
            hint="give the jobs an IAM role instead (FLOWKIT_BATCH_JOB_ROLE)",
        )
    container: dict[str, Any] = {
        "image": image,
        "command": ["python", "-m", "flowkit_sfn.task"],
        "resourceRequirements": [
            {"type": "VCPU", "value": "1"},
            {"type": "MEMORY", "value": "4096"},
        ],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
    }
    if job_role:
        container["jobRoleArn"] = job_role
    # Step Functions retries (@retry is the Task's Retry): one Batch attempt per job.
    return {"type": "container", "containerProperties": container, "retryStrategy": {"attempts": 1}}


class AwsResources:
    """The calls of :mod:`flowkit_sfn.deploy`, each made only when something differs.

    Args:
        client: ``client("batch")`` etc. (:func:`flowkit_sfn.aws.client_factory`).
        calls: Where the changing calls are noted (``Deployment.calls``).
    """

    def __init__(self, client: Callable[[str], Any], calls: list[str]) -> None:
        self.client = client
        self.calls = calls

    def _call(self, service: str, operation: str, **request: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self.client(service), operation)
        try:
            return method(**request)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise SfnUnavailable(
                f"AWS refused {operation}: {error.get('Code')}: {error.get('Message')}",
                hint="check the names (queue, role, image) and the credentials' permissions",
            ) from exc
        except BotoCoreError as exc:
            raise SfnUnavailable(f"{operation} failed: {exc}") from exc

    def job_definition(self, body: dict[str, Any]) -> str:
        """The name of an active job definition with ``body``, registered when missing."""
        import hashlib

        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        name = f"flowkit-sfn-{digest[:24]}"
        found = self._call(
            "batch", "describe_job_definitions", jobDefinitionName=name, status="ACTIVE"
        )
        if not found.get("jobDefinitions"):
            self._call("batch", "register_job_definition", jobDefinitionName=name, **body)
            self.calls.append("batch:RegisterJobDefinition")
        return name

    def table(self, name: str) -> None:
        """Create the DynamoDB table ``name`` (key ``pathspec``) unless it exists."""
        from botocore.exceptions import ClientError

        dynamodb = self.client("dynamodb")
        try:
            dynamodb.describe_table(TableName=name)
            return
        except ClientError as exc:
            if aws_error_code(exc) != "ResourceNotFoundException":
                raise SfnUnavailable(f"AWS refused DescribeTable {name}: {exc}") from exc
        self._call(
            "dynamodb",
            "create_table",
            TableName=name,
            KeySchema=[{"AttributeName": "pathspec", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pathspec", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.calls.append("dynamodb:CreateTable")
        dynamodb.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )

    def find_state_machine(self, name: str) -> str | None:
        """The ARN of the state machine called ``name``, if there is one."""
        pages = self.client("stepfunctions").get_paginator("list_state_machines").paginate()
        for page in pages:
            for machine in page.get("stateMachines", []):
                if machine["name"] == name:
                    return str(machine["stateMachineArn"])
        return None

    def state_machine(self, name: str, definition: dict[str, Any], role_arn: str) -> str:
        """Create the state machine, or update it when its definition or role differ; its ARN."""
        arn = self.find_state_machine(name)
        text = json.dumps(definition, indent=1, sort_keys=True)
        if arn is None:
            made = self._call(
                "stepfunctions",
                "create_state_machine",
                name=name,
                definition=text,
                roleArn=role_arn,
                type="STANDARD",
            )
            self.calls.append("states:CreateStateMachine")
            return str(made["stateMachineArn"])
        held = self._call("stepfunctions", "describe_state_machine", stateMachineArn=arn)
        if json.loads(held["definition"]) != definition or held.get("roleArn") != role_arn:
            self._call(
                "stepfunctions",
                "update_state_machine",
                stateMachineArn=arn,
                definition=text,
                roleArn=role_arn,
            )
            self.calls.append("states:UpdateStateMachine")
        return arn
