"""EventBridge schedules and rules for a deployed flow, against moto's Scheduler, EventBridge
and Step Functions on 127.0.0.1 (``flowkit_sfn.events``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from s3servers import S3Server, start_moto

from flowkit import FlowSpec, schedule, step, trigger, trigger_on_finish
from flowkit_sfn.events import (
    MAX_EXECUTION_NAME,
    RuleRequest,
    ScheduleRequest,
    apply,
    execution_name_for_object,
    requests_for_flow,
    transform_event,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/flowkit-events"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:ReportFlow"
TRAIN_MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:TrainFlow"


@schedule(cron="0 6 * * 1-5", timezone="Europe/Berlin")
@trigger(s3="s3://incoming-data/reports/", suffix=".parquet")
@trigger_on_finish(flow="TrainFlow")
class ReportFlow(FlowSpec):
    """A small flow with all three deployment triggers."""

    @step
    def start(self) -> None:
        self.next(self.end)

    @step
    def end(self) -> None:
        pass


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_moto(tmp_path_factory.mktemp("moto-events"))
    yield server
    server.stop()


def _client(server: S3Server, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
    )


@pytest.fixture
def clients(moto: S3Server) -> Iterator[dict[str, Any]]:
    made = {name: _client(moto, name) for name in ("scheduler", "events", "stepfunctions")}
    yield made
    # Each test starts from an empty account: remove what it deployed.
    for item in made["scheduler"].list_schedules()["Schedules"]:
        made["scheduler"].delete_schedule(Name=item["Name"])
    for rule in made["events"].list_rules()["Rules"]:
        targets = made["events"].list_targets_by_rule(Rule=rule["Name"])["Targets"]
        if targets:
            made["events"].remove_targets(Rule=rule["Name"], Ids=[t["Id"] for t in targets])
        made["events"].delete_rule(Name=rule["Name"])


def _requests() -> list[ScheduleRequest | RuleRequest]:
    return requests_for_flow(
        ReportFlow, "ReportFlow", MACHINE, ROLE, upstream_arns={"TrainFlow": TRAIN_MACHINE}
    )


def test_schedule_is_created_field_by_field(clients: dict[str, Any]) -> None:
    changes = apply(clients, _requests())
    assert "created schedule ReportFlow" in changes

    held = clients["scheduler"].get_schedule(Name="ReportFlow")
    assert held["ScheduleExpression"] == "cron(0 6 ? * 2-6 *)"  # Unix Mon-Fri in AWS numbering
    assert held["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert held["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert held["State"] == "ENABLED"
    assert held["Target"]["Arn"] == MACHINE
    assert held["Target"]["RoleArn"] == ROLE
    assert json.loads(held["Target"]["Input"]) == {}


def test_s3_rule_is_created_field_by_field(clients: dict[str, Any]) -> None:
    apply(clients, _requests())

    rule = clients["events"].describe_rule(Name="ReportFlow-s3-1")
    assert rule["State"] == "ENABLED"
    assert json.loads(rule["EventPattern"]) == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": ["incoming-data"]},
            "object": {"key": [{"wildcard": "reports/*.parquet"}]},
        },
    }
    [target] = clients["events"].list_targets_by_rule(Rule="ReportFlow-s3-1")["Targets"]
    assert target["Arn"] == MACHINE
    assert target["RoleArn"] == ROLE
    paths = target["InputTransformer"]["InputPathsMap"]
    assert paths == {
        "bucket": "$.detail.bucket.name",
        "key": "$.detail.object.key",
        "etag": "$.detail.object.etag",
        "version": "$.detail.object.version-id",
    }


def test_finish_rule_is_created_field_by_field(clients: dict[str, Any]) -> None:
    apply(clients, _requests())

    rule = clients["events"].describe_rule(Name="ReportFlow-after-TrainFlow")
    assert json.loads(rule["EventPattern"]) == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["SUCCEEDED"], "stateMachineArn": [TRAIN_MACHINE]},
    }
    [target] = clients["events"].list_targets_by_rule(Rule="ReportFlow-after-TrainFlow")["Targets"]
    assert (target["Arn"], target["RoleArn"]) == (MACHINE, ROLE)


def test_reapplying_the_same_configuration_changes_nothing(clients: dict[str, Any]) -> None:
    first = apply(clients, _requests())
    assert sorted(first) == [
        "created rule ReportFlow-after-TrainFlow",
        "created rule ReportFlow-s3-1",
        "created schedule ReportFlow",
    ]
    modified = clients["scheduler"].get_schedule(Name="ReportFlow")["LastModificationDate"]

    assert apply(clients, _requests()) == []
    assert clients["scheduler"].get_schedule(Name="ReportFlow")["LastModificationDate"] == modified


def test_a_changed_schedule_is_updated_in_place(clients: dict[str, Any]) -> None:
    apply(clients, _requests())
    [request] = [r for r in _requests() if isinstance(r, ScheduleRequest)]
    later = ScheduleRequest({**request.kwargs, "ScheduleExpression": "cron(0 7 ? * 2-6 *)"})

    assert apply(clients, [later]) == ["updated schedule ReportFlow"]
    held = clients["scheduler"].get_schedule(Name="ReportFlow")
    assert held["ScheduleExpression"] == "cron(0 7 ? * 2-6 *)"
    assert apply(clients, [later]) == []


def test_a_changed_rule_drops_targets_it_no_longer_has(clients: dict[str, Any]) -> None:
    [request] = [r for r in _requests() if r.name == "ReportFlow-s3-1"]
    extra = {**request.targets[0], "Id": "old-target"}
    apply(clients, [RuleRequest(request.rule, [*request.targets, extra])])

    assert apply(clients, [request]) == ["updated rule ReportFlow-s3-1"]
    held = clients["events"].list_targets_by_rule(Rule="ReportFlow-s3-1")["Targets"]
    assert [t["Id"] for t in held] == ["start-run"]


def _receive_all(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_a_duplicated_object_event_starts_exactly_one_run(
    clients: dict[str, Any], moto: S3Server
) -> None:
    s3, sqs = _client(moto, "s3"), _client(moto, "sqs")
    sfn = clients["stepfunctions"]
    bucket = "incoming-data"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    queue_url = sqs.create_queue(QueueName="delivered-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    definition = {"StartAt": "Start", "States": {"Start": {"Type": "Pass", "End": True}}}
    machine = sfn.create_state_machine(
        name="ReportFlowDup", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    try:
        apply(clients, _requests())
        [target] = clients["events"].list_targets_by_rule(Rule="ReportFlow-s3-1")["Targets"]
        # moto's EventBridge delivers to SQS but not to Step Functions (a Step Functions target
        # raises inside moto and stops delivery), so for the upload the rule's target is swapped
        # for a queue that records what the state machine would receive.
        clients["events"].remove_targets(Rule="ReportFlow-s3-1", Ids=["start-run"])
        clients["events"].put_targets(
            Rule="ReportFlow-s3-1",
            Targets=[{"Id": "witness", "Arn": queue_arn["Attributes"]["QueueArn"]}],
        )
        key = "reports/2026 12/day 1.parquet"
        put = s3.put_object(Bucket=bucket, Key=key, Body=b"rows!")
        s3.put_object(Bucket=bucket, Key="reports/day 1.csv", Body=b"wrong suffix")
        s3.put_object(Bucket=bucket, Key="archive/day 1.parquet", Body=b"wrong prefix")

        [event] = _receive_all(sqs, queue_url)  # only the object the trigger names
        assert event["detail"]["object"]["key"] == key
        # moto spells the field eTag; S3's documented event (and the rule) say etag.
        event["detail"]["object"]["etag"] = event["detail"]["object"].pop("eTag")
        # Re-applying the deployment puts the state machine target back, the queue gone.
        assert apply(clients, _requests()) == ["updated rule ReportFlow-s3-1"]
        assert clients["events"].list_targets_by_rule(Rule="ReportFlow-s3-1")["Targets"] == [target]

        # At-least-once delivery: the state machine target receives the same event twice.
        for _ in range(2):
            run_input = json.loads(transform_event(target["InputTransformer"], event))
            fields = run_input["trigger"]
            name = execution_name_for_object(fields["bucket"], fields["key"], fields["version_id"])
            sfn.start_execution(
                stateMachineArn=machine, name=name, input=json.dumps(run_input, sort_keys=True)
            )

        [execution] = sfn.list_executions(stateMachineArn=machine)["executions"]
        assert execution["name"] == name
        started = sfn.describe_execution(executionArn=execution["executionArn"])
        assert json.loads(started["input"])["trigger"] == {
            "url": f"s3://{bucket}/{key}",
            "bucket": bucket,
            "key": key,
            "etag": put["ETag"].strip('"'),
            "version_id": put["VersionId"],
        }
    finally:
        sfn.delete_state_machine(stateMachineArn=machine)
        sqs.delete_queue(QueueUrl=queue_url)
        for version in s3.list_object_versions(Bucket=bucket).get("Versions", []):
            s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
        s3.delete_bucket(Bucket=bucket)


def test_transform_event_escapes_values_into_json() -> None:
    transformer = {
        "InputPathsMap": {"k": "$.detail.key", "gone": "$.detail.nope"},
        "InputTemplate": '{"key": "<k>", "missing": "<gone>"}',
    }
    event = {"detail": {"key": 'odd "quoted" \\ key'}}
    assert json.loads(transform_event(transformer, event)) == {
        "key": 'odd "quoted" \\ key',
        "missing": "",
    }


def test_execution_names_are_valid_deterministic_and_distinct() -> None:
    name = execution_name_for_object("bkt", "a/b c.parquet", "v1")
    assert name == execution_name_for_object("bkt", "a/b c.parquet", "v1")
    assert name.startswith("bkt-a-b-c-parquet-")
    assert name != execution_name_for_object("bkt", "a/b c.parquet", "v2")
    # Keys whose readable forms collide still get different names.
    slash, dash = (execution_name_for_object("bkt", key, "v") for key in ("a/b", "a-b"))
    assert slash != dash
    long = execution_name_for_object("b" * 63, "k/" * 500, "v")
    for made in (name, long, execution_name_for_object("bkt", "日本/データ", "e")):
        assert len(made) <= MAX_EXECUTION_NAME
        assert all(c.isascii() and (c.isalnum() or c in "-_") for c in made)


def test_an_upstream_flow_without_a_state_machine_is_refused() -> None:
    from flowkit_sfn.events import EventsConfigError

    with pytest.raises(EventsConfigError, match="TrainFlow") as caught:
        requests_for_flow(ReportFlow, "ReportFlow", MACHINE, ROLE, upstream_arns={})
    assert "Fix:" in str(caught.value)
