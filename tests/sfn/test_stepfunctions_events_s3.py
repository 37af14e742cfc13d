"""Data-arrival triggers for real in moto (127.0.0.1): the rule ``deploy_events`` makes, the
starter state machine executing in moto's Step Functions interpreter, and at-least-once
delivery starting exactly one run; ``@trigger_on_finish``'s rule and the input it builds.

How close to production: moto's EventBridge matches S3 events against the rule's pattern but
cannot deliver to a Step Functions target (it raises inside moto and stops delivery), so the
tests deliver the event themselves — the rule's pattern is checked by moto on a real upload
(delivered to an SQS queue standing in as a witness target), then the event document is put
through the rule's input transformer (``transform_event``) and the rule's target, the starter,
is started with it, as EventBridge would. The starter itself runs unchanged: moto's
interpreter has the ``states:startExecution`` integration and ``States.Hash``, and raises
``StepFunctions.ExecutionAlreadyExistsException`` for a reused name as AWS does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from events_moto import (
    ACCOUNT,
    REGION,
    AwsCalls,
    start_executing_moto,
    wait_for_execution,
)
from s3servers import S3Server
from test_statemachine import statelint_problems

from flowkit import FlowSpec, Parameter, step, trigger, trigger_on_finish
from flowkit_sfn.events import deploy_events, execution_name_for_object, remove_events
from flowkit_sfn.starter import starter_definition

ROLE_NAME = "flowkit-events"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
BUCKET = "incoming-data"
PASS = {"StartAt": "Start", "States": {"Start": {"Type": "Pass", "End": True}}}


@trigger(
    s3=f"s3://{BUCKET}/reports/",
    suffix=".parquet",
    parameters={"src": "url", "tag": "etag", "version": "version_id"},
)
@trigger_on_finish(flow="TrainFlow")
class ReportFlow(FlowSpec):
    """A flow started by new objects and by TrainFlow's successful runs."""

    src = Parameter("src", required=True)
    tag = Parameter("tag", default="")
    version = Parameter("version", default="")

    @step
    def start(self) -> None:
        self.next(self.end)

    @step
    def end(self) -> None:
        pass


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_executing_moto(tmp_path_factory.mktemp("moto-sfn-events"))
    yield server
    server.stop()


@pytest.fixture
def aws(moto: S3Server) -> Iterator[AwsCalls]:
    calls = AwsCalls(moto)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": [f"{s}.amazonaws.com" for s in ("events", "states")]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    calls("iam").create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
    yield calls
    calls("iam").delete_role(RoleName=ROLE_NAME)


def _machine(aws: AwsCalls, name: str) -> str:
    made = aws("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(PASS), roleArn=ROLE
    )
    return str(made["stateMachineArn"])


def _deploy(aws: AwsCalls, machine_arn: str) -> list[str]:
    return deploy_events(
        ReportFlow,
        state_machine_name="ReportFlow",
        state_machine_arn=machine_arn,
        role_arn=ROLE,
        client=aws,
    )


def _object_created(bucket: str, key: str, etag: str, version: str) -> dict[str, Any]:
    """The event S3 sends EventBridge for a new object (S3 user guide, "Object Created")."""
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": "2026-12-02T16:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": 5, "etag": etag, "version-id": version},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": ACCOUNT,
            "reason": "PutObject",
        },
    }


def _start_target(aws: AwsCalls, target: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Do what EventBridge does for a matching event: transform it and start the target."""
    from flowkit_sfn.events import transform_event

    sfn = aws("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=target["Arn"],
        # EventBridge names the execution at random; moto's interpreter would name it "None"
        name=uuid.uuid4().hex,
        input=transform_event(target["InputTransformer"], event),
    )
    return wait_for_execution(sfn, started["executionArn"])


def test_the_starter_passes_statelint() -> None:
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:ReportFlow"
    assert statelint_problems(starter_definition(machine, "ReportFlow")) == ""


def test_the_s3_rule_and_starter_field_by_field(aws: AwsCalls) -> None:
    machine = _machine(aws, "ReportFlow")
    try:
        deployed = _deploy(aws, machine)
        starter = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:ReportFlow-starter"
        assert starter in deployed
        events = aws("events")
        rule = events.describe_rule(Name="ReportFlow-s3-1")
        assert rule["Arn"] in deployed
        assert rule["State"] == "ENABLED"
        assert json.loads(rule["EventPattern"]) == {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {
                "bucket": {"name": [BUCKET]},
                "object": {"key": [{"wildcard": "reports/*.parquet"}]},
            },
        }
        [target] = events.list_targets_by_rule(Rule="ReportFlow-s3-1")["Targets"]
        assert target["Id"] == "start-run"
        assert target["Arn"] == starter
        assert target["RoleArn"] == ROLE
        assert target["InputTransformer"]["InputPathsMap"] == {
            "bucket": "$.detail.bucket.name",
            "key": "$.detail.object.key",
            "etag": "$.detail.object.etag",
            "version": "$.detail.object.version-id",
        }
        assert json.loads(
            target["InputTransformer"]["InputTemplate"]
            .replace("<bucket>", "B")
            .replace("<key>", "K")
            .replace("<etag>", "E")
            .replace("<version>", "V")
        ) == {
            "parameters": {"src": "s3://B/K", "tag": "E", "version": "V"},
            "trigger": {
                "type": "s3",
                "url": "s3://B/K",
                "bucket": "B",
                "key": "K",
                "etag": "E",
                "version_id": "V",
            },
        }
        held = aws("stepfunctions").describe_state_machine(stateMachineArn=starter)
        assert held["roleArn"] == ROLE
        assert json.loads(held["definition"]) == starter_definition(machine, "ReportFlow")
    finally:
        remove_events(state_machine_name="ReportFlow", client=aws)
        aws("stepfunctions").delete_state_machine(stateMachineArn=machine)


def _receive_all(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_a_duplicated_object_event_starts_exactly_one_run(aws: AwsCalls, moto: S3Server) -> None:
    s3, sqs, events, sfn = (aws(s) for s in ("s3", "sqs", "events", "stepfunctions"))
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    queue_url = sqs.create_queue(QueueName="witness")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    machine = _machine(aws, "ReportFlow")
    try:
        _deploy(aws, machine)
        # moto checks the rule's pattern on a real upload: a witness queue beside the starter
        # receives only the object under the prefix with the suffix.
        witness = {"Id": "witness", "Arn": queue_arn["Attributes"]["QueueArn"]}
        [target] = events.list_targets_by_rule(Rule="ReportFlow-s3-1")["Targets"]
        events.remove_targets(Rule="ReportFlow-s3-1", Ids=["start-run"])
        events.put_targets(Rule="ReportFlow-s3-1", Targets=[witness])
        key = "reports/2026 12/day 'one' {1}.parquet"
        put = s3.put_object(Bucket=BUCKET, Key=key, Body=b"rows!")
        s3.put_object(Bucket=BUCKET, Key="reports/day 1.csv", Body=b"wrong suffix")
        s3.put_object(Bucket=BUCKET, Key="archive/day 1.parquet", Body=b"wrong prefix")
        [seen] = _receive_all(sqs, queue_url)
        assert seen["detail"]["object"]["key"] == key
        # Re-deploying puts the starter target back and drops the witness.
        _deploy(aws, machine)
        assert events.list_targets_by_rule(Rule="ReportFlow-s3-1")["Targets"] == [target]

        etag, version = put["ETag"].strip('"'), put["VersionId"]
        event = _object_created(BUCKET, key, etag, version)
        first, second = (_start_target(aws, target, event) for _ in range(2))

        # Both starter executions succeed: the second found the run already started.
        assert (first["status"], second["status"]) == ("SUCCEEDED", "SUCCEEDED")
        [run] = sfn.list_executions(stateMachineArn=machine)["executions"]
        assert run["name"] == execution_name_for_object(BUCKET, key, version, etag)
        run_input = json.loads(sfn.describe_execution(executionArn=run["executionArn"])["input"])
        url = f"s3://{BUCKET}/{key}"
        assert run_input == {
            "parameters": {"src": url, "tag": etag, "version": version},
            "trigger": {
                "type": "s3",
                "url": url,
                "bucket": BUCKET,
                "key": key,
                "etag": etag,
                "version_id": version,
            },
        }
        history = sfn.get_execution_history(executionArn=second["executionArn"])["events"]
        failed = [
            e["taskFailedEventDetails"]["error"] for e in history if e["type"] == "TaskFailed"
        ]
        assert failed == ["StepFunctions.ExecutionAlreadyExistsException"]
    finally:
        remove_events(state_machine_name="ReportFlow", client=aws)
        for made in sfn.list_executions(stateMachineArn=machine)["executions"]:
            wait_for_execution(sfn, made["executionArn"])
        sfn.delete_state_machine(stateMachineArn=machine)
        sqs.delete_queue(QueueUrl=queue_url)
        for found in s3.list_object_versions(Bucket=BUCKET).get("Versions", []):
            s3.delete_object(Bucket=BUCKET, Key=found["Key"], VersionId=found["VersionId"])
        s3.delete_bucket(Bucket=BUCKET)


@pytest.mark.parametrize(
    ("key", "version", "etag"),
    [
        ("a/b c.parquet", "", "9a0364b9e99bb480dd25e1f0284c8555"),  # an unversioned bucket
        (
            "日本/データ.parquet",
            "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
            "d41d8cd98f00b204e9800998ecf8427e-2",
        ),
        ("k" * 1024, "null", "e"),
    ],
)
def test_python_and_the_starter_compute_the_same_run_name(
    aws: AwsCalls, key: str, version: str, etag: str
) -> None:
    sfn = aws("stepfunctions")
    machine = _machine(aws, "NamedRuns")
    starter = sfn.create_state_machine(
        name="NamedRuns-starter",
        definition=json.dumps(starter_definition(machine, "NamedRuns")),
        roleArn=ROLE,
    )["stateMachineArn"]
    try:
        trigger_fields = {"bucket": BUCKET, "key": key, "version_id": version, "etag": etag}
        started = sfn.start_execution(
            stateMachineArn=starter,
            name="one-event",
            input=json.dumps({"parameters": {}, "trigger": trigger_fields}),
        )
        assert wait_for_execution(sfn, started["executionArn"])["status"] == "SUCCEEDED"
        [run] = sfn.list_executions(stateMachineArn=machine)["executions"]
        name = execution_name_for_object(BUCKET, key, version, etag)
        assert run["name"] == name
        assert len(name) <= 80
        wait_for_execution(sfn, run["executionArn"])
    finally:
        sfn.delete_state_machine(stateMachineArn=starter)
        sfn.delete_state_machine(stateMachineArn=machine)


def test_the_finish_rule_field_by_field_and_the_input_it_builds(aws: AwsCalls) -> None:
    sfn, events = aws("stepfunctions"), aws("events")
    machine, upstream = _machine(aws, "ReportFlow"), _machine(aws, "TrainFlow")
    try:
        _deploy(aws, machine)
        rule = events.describe_rule(Name="ReportFlow-after-TrainFlow")
        assert rule["State"] == "ENABLED"
        assert json.loads(rule["EventPattern"]) == {
            "source": ["aws.states"],
            "detail-type": ["Step Functions Execution Status Change"],
            "detail": {"status": ["SUCCEEDED"], "stateMachineArn": [upstream]},
        }
        [target] = events.list_targets_by_rule(Rule="ReportFlow-after-TrainFlow")["Targets"]
        assert (target["Id"], target["Arn"], target["RoleArn"]) == ("start-run", machine, ROLE)
        assert target["InputTransformer"]["InputPathsMap"] == {"execution": "$.detail.name"}

        # An upstream run succeeds; its status-change event goes through the rule's target.
        done = sfn.start_execution(stateMachineArn=upstream, name="nightly-42", input="{}")
        finished = wait_for_execution(sfn, done["executionArn"])
        assert finished["status"] == "SUCCEEDED"
        event = {
            "version": "0",
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "account": ACCOUNT,
            "region": REGION,
            "resources": [done["executionArn"]],
            "detail": {
                "executionArn": done["executionArn"],
                "stateMachineArn": upstream,
                "name": "nightly-42",
                "status": "SUCCEEDED",
                "input": "{}",
                "output": "{}",
            },
        }
        run = _start_target(aws, target, event)
        assert run["status"] == "SUCCEEDED"
        assert json.loads(run["input"]) == {
            "parameters": {},
            "trigger": {"type": "run", "flow": "TrainFlow", "run_id": "sfn-nightly-42"},
        }
    finally:
        remove_events(state_machine_name="ReportFlow", client=aws)
        for arn in (machine, upstream):
            sfn.delete_state_machine(stateMachineArn=arn)


def test_transform_event_escapes_values_into_json() -> None:
    from flowkit_sfn.events import transform_event

    transformer = {
        "InputPathsMap": {"k": "$.detail.key", "gone": "$.detail.nope"},
        "InputTemplate": '{"key": "<k>", "missing": "<gone>"}',
    }
    event = {"detail": {"key": 'odd "quoted" \\ key'}}
    assert json.loads(transform_event(transformer, event)) == {
        "key": 'odd "quoted" \\ key',
        "missing": "",
    }


def test_run_names_are_valid_deterministic_and_distinct() -> None:
    name = execution_name_for_object("bkt", "a/b c.parquet", "v1", "e")
    assert name == execution_name_for_object("bkt", "a/b c.parquet", "v1", "e")
    assert name != execution_name_for_object("bkt", "a/b c.parquet", "v2", "e")
    assert name != execution_name_for_object("bkt", "a/b c.parquet", "v1", "f")
    # the identity's separator cannot make two objects one: bucket, version and etag hold no "/"
    assert execution_name_for_object("b", "k/v", "", "e") != execution_name_for_object(
        "b", "k", "v", "e"
    )
    assert len(name) == 67 and all(c in "0123456789abcdefs-" for c in name)
