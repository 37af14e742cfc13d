"""``deploy_events`` / ``remove_events`` against moto's Scheduler, EventBridge, Step Functions and
IAM on 127.0.0.1: what a deployment creates (field by field), that an unchanged re-deployment
makes no write call, that a change updates in place, that what a flow stops declaring is
deleted, and that removal leaves other deployments alone. Every AWS call is recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from events_moto import ACCOUNT, REGION, AwsCalls
from s3servers import S3Server, start_moto

from flowkit import FlowSpec, schedule, step, trigger, trigger_on_finish
from flowkit.errors import FlowDefinitionError
from flowkit_sfn.events import EventsConfigError, deploy_events, remove_events
from flowkit_sfn.naming import (
    MAX_RULE_NAME,
    NamingError,
    resource_name,
    state_machine_name,
    upstream_state_machine_name,
)

ROLE_NAME = "flowkit-deploy"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
WRITES = {
    "CreateSchedule", "UpdateSchedule", "DeleteSchedule", "PutRule", "PutTargets",
    "RemoveTargets", "DeleteRule", "CreateStateMachine", "UpdateStateMachine",
    "DeleteStateMachine",
}  # fmt: skip


def machine_arn(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"


def report_flow(cron: str | None = "0 6 * * 1-5", s3: bool = True, after: bool = True) -> type:
    """``ReportFlow`` with the deployment decorators asked for (one flow, edited over time)."""

    class ReportFlow(FlowSpec):
        @step
        def start(self) -> None:
            self.next(self.end)

        @step
        def end(self) -> None:
            pass

    flow: type = ReportFlow
    if after:
        flow = trigger_on_finish(flow="TrainFlow")(flow)
    if s3:
        flow = trigger(s3="s3://incoming-data/reports/", suffix=".parquet")(flow)
    if cron:
        flow = schedule(cron=cron, timezone="Europe/Berlin")(flow)
    return flow


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_moto(tmp_path_factory.mktemp("moto-deploy-events"))
    yield server
    server.stop()


def _trust(*services: str) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": [f"{s}.amazonaws.com" for s in services]},
        "Action": "sts:AssumeRole",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture
def aws(moto: S3Server) -> Iterator[AwsCalls]:
    calls = AwsCalls(moto)
    calls("iam").create_role(
        RoleName=ROLE_NAME, AssumeRolePolicyDocument=_trust("scheduler", "events", "states")
    )
    calls.take()
    yield calls
    # Each test starts from an empty account.
    scheduler, events, sfn = calls("scheduler"), calls("events"), calls("stepfunctions")
    for item in scheduler.list_schedules()["Schedules"]:
        scheduler.delete_schedule(Name=item["Name"])
    for rule in events.list_rules()["Rules"]:
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        if targets:
            events.remove_targets(Rule=rule["Name"], Ids=[t["Id"] for t in targets])
        events.delete_rule(Name=rule["Name"])
    for machine in sfn.list_state_machines()["stateMachines"]:
        sfn.delete_state_machine(stateMachineArn=machine["stateMachineArn"])
    for role in calls("iam").list_roles()["Roles"]:
        calls("iam").delete_role(RoleName=role["RoleName"])


def deploy(aws: AwsCalls, flow: type, name: str = "ReportFlow") -> list[str]:
    return deploy_events(
        flow,
        state_machine_name=name,
        state_machine_arn=machine_arn(name),
        role_arn=ROLE,
        client=aws,
    )


def writes(calls: list[tuple[str, str]]) -> list[str]:
    return [operation for _, operation in calls if operation in WRITES]


def test_a_deployment_creates_its_schedule_rules_and_starter(aws: AwsCalls) -> None:
    deployed = deploy(aws, report_flow())

    scheduler, events = aws("scheduler"), aws("events")
    held = scheduler.get_schedule(Name="ReportFlow-schedule")
    assert held["ScheduleExpression"] == "cron(0 6 ? * 2-6 *)"  # Unix Mon-Fri in AWS numbering
    assert held["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert held["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert held["State"] == "ENABLED"
    assert held["Description"].startswith("flowkit deployment ReportFlow: schedule: cron(")
    assert held["Target"]["Arn"] == machine_arn("ReportFlow")
    assert held["Target"]["RoleArn"] == ROLE
    assert json.loads(held["Target"]["Input"]) == {"parameters": {}}

    rules = {rule["Name"]: rule for rule in events.list_rules()["Rules"]}
    assert sorted(rules) == ["ReportFlow-after-TrainFlow", "ReportFlow-s3-1"]
    starter = aws("stepfunctions").describe_state_machine(
        stateMachineArn=machine_arn("ReportFlow-starter")
    )
    assert starter["roleArn"] == ROLE
    assert sorted(deployed) == sorted(
        [held["Arn"], *(rule["Arn"] for rule in rules.values()), starter["stateMachineArn"]]
    )
    assert (
        writes(aws.take())
        == ["CreateStateMachine", "CreateSchedule"]
        + [
            "PutRule",
            "PutTargets",
        ]
        * 2
    )


def test_an_unchanged_redeployment_makes_no_write_call(aws: AwsCalls) -> None:
    first = deploy(aws, report_flow())
    modified = aws("scheduler").get_schedule(Name="ReportFlow-schedule")["LastModificationDate"]
    aws.take()

    assert deploy(aws, report_flow()) == first
    calls = aws.take()
    assert writes(calls) == []
    # what it read instead
    assert sorted(set(calls)) == [
        ("events", "DescribeRule"),
        ("events", "ListRules"),
        ("events", "ListTargetsByRule"),
        ("iam", "GetRole"),
        ("scheduler", "GetSchedule"),
        ("scheduler", "ListSchedules"),
        ("stepfunctions", "DescribeStateMachine"),
    ]
    held = aws("scheduler").get_schedule(Name="ReportFlow-schedule")
    assert held["LastModificationDate"] == modified


def test_a_changed_cron_updates_the_schedule_in_place(aws: AwsCalls) -> None:
    deploy(aws, report_flow())
    aws.take()

    deploy(aws, report_flow(cron="30 7 * * *"))
    assert writes(aws.take()) == ["UpdateSchedule"]
    held = aws("scheduler").get_schedule(Name="ReportFlow-schedule")
    assert held["ScheduleExpression"] == "cron(30 7 * * ? *)"
    assert held["Target"]["Arn"] == machine_arn("ReportFlow")


def test_what_a_flow_stops_declaring_is_deleted(aws: AwsCalls) -> None:
    deploy(aws, report_flow())
    aws.take()

    deployed = deploy(aws, report_flow(cron=None, s3=False))

    assert writes(aws.take()) == [
        "DeleteSchedule",
        "RemoveTargets",
        "DeleteRule",
        "DeleteStateMachine",
    ]
    assert aws("scheduler").list_schedules()["Schedules"] == []
    [rule] = aws("events").list_rules()["Rules"]
    assert rule["Name"] == "ReportFlow-after-TrainFlow"
    assert deployed == [rule["Arn"]]
    assert aws("stepfunctions").list_state_machines()["stateMachines"] == []


def test_a_flow_without_triggers_deploys_nothing_and_removes_what_it_had(aws: AwsCalls) -> None:
    deploy(aws, report_flow())
    aws.take()

    assert deploy(aws, report_flow(cron=None, s3=False, after=False)) == []
    calls = aws.take()
    assert ("iam", "GetRole") not in calls  # no service needs the role
    rule_deletion = ["RemoveTargets", "DeleteRule"]
    assert writes(calls) == ["DeleteSchedule", *rule_deletion, *rule_deletion, "DeleteStateMachine"]
    assert remove_events(state_machine_name="ReportFlow", client=aws) == []


def test_a_changed_rule_target_is_put_back(aws: AwsCalls) -> None:
    deploy(aws, report_flow())
    events = aws("events")
    [target] = events.list_targets_by_rule(Rule="ReportFlow-s3-1")["Targets"]
    events.put_targets(Rule="ReportFlow-s3-1", Targets=[{**target, "Id": "by-hand"}])
    aws.take()

    deploy(aws, report_flow())
    assert writes(aws.take()) == ["PutTargets", "RemoveTargets"]
    assert events.list_targets_by_rule(Rule="ReportFlow-s3-1")["Targets"] == [target]


def test_remove_events_deletes_everything_and_only_this_deployment(aws: AwsCalls) -> None:
    made = deploy(aws, report_flow())
    other = deploy(aws, report_flow(), name="fraud.prod.ReportFlow")
    events = aws("events")
    # a rule someone made by hand under the same name prefix, not by this deployment
    events.put_rule(Name="ReportFlow-by-hand", ScheduleExpression="rate(1 day)")
    aws.take()

    removed = remove_events(state_machine_name="ReportFlow", client=aws)

    assert sorted(removed) == sorted(made)
    assert sorted(rule["Name"] for rule in events.list_rules()["Rules"]) == [
        "ReportFlow-by-hand",
        "fraud.prod.ReportFlow-after-TrainFlow",
        "fraud.prod.ReportFlow-s3-1",
    ]
    [left] = aws("scheduler").list_schedules()["Schedules"]
    assert left["Name"] == "fraud.prod.ReportFlow-schedule"
    machines = aws("stepfunctions").list_state_machines()["stateMachines"]
    assert [m["name"] for m in machines] == ["fraud.prod.ReportFlow-starter"]
    assert remove_events(state_machine_name="ReportFlow", client=aws) == []
    assert sorted(remove_events(state_machine_name="fraud.prod.ReportFlow", client=aws)) == sorted(
        other
    )


def test_a_project_deployment_follows_the_upstream_flow_of_its_branch(aws: AwsCalls) -> None:
    name = state_machine_name("ReportFlow", ("fraud", "user.alice"))
    assert name == "fraud.user.alice.ReportFlow"
    deploy(aws, report_flow(), name=name)

    rule = aws("events").describe_rule(Name="fraud.user.alice.ReportFlow-after-TrainFlow")
    assert json.loads(rule["EventPattern"])["detail"]["stateMachineArn"] == [
        machine_arn("fraud.user.alice.TrainFlow")
    ]
    [target] = aws("events").list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == machine_arn(name)


def test_a_role_the_scheduler_cannot_assume_is_refused_before_anything_is_made(
    aws: AwsCalls,
) -> None:
    iam = aws("iam")
    iam.update_assume_role_policy(RoleName=ROLE_NAME, PolicyDocument=_trust("events", "states"))
    aws.take()

    with pytest.raises(EventsConfigError, match=r"scheduler\.amazonaws\.com") as caught:
        deploy(aws, report_flow())
    assert "Fix:" in str(caught.value)
    assert writes(aws.take()) == []
    # a flow without @schedule needs no Scheduler trust
    deploy(aws, report_flow(cron=None))
    with pytest.raises(EventsConfigError, match="does not exist"):
        deploy_events(
            report_flow(),
            state_machine_name="ReportFlow",
            state_machine_arn=machine_arn("ReportFlow"),
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/missing",
            client=aws,
        )


# -- names ---------------------------------------------------------------------------------
def test_names_stay_within_aws_limits_and_distinct() -> None:
    long_machine = "a_very_long_project.prod.some_feature_branch." + "VeryLongFlowName" * 2
    names = {
        resource_name(long_machine, "schedule"),
        resource_name(long_machine, "s3", "1"),
        resource_name(long_machine, "after", "AnotherRatherLongUpstreamFlowNameForTesting"),
        resource_name(long_machine + "2", "schedule"),
        resource_name("user.jo@example.com.Flow", "schedule"),
    }
    assert len(names) == 5
    for name in names:
        assert len(name) <= MAX_RULE_NAME
        assert all(c.isascii() and (c.isalnum() or c in "._-") for c in name)
    assert resource_name("ReportFlow", "after", "TrainFlow") == "ReportFlow-after-TrainFlow"


def test_a_state_machine_name_is_the_project_flow_name_made_valid() -> None:
    assert state_machine_name("ReportFlow") == "ReportFlow"
    assert state_machine_name("ReportFlow", ("fraud", "prod")) == "fraud.prod.ReportFlow"
    # a user name may hold what a state machine name cannot: each such character becomes "-"
    name = state_machine_name("ReportFlow", ("fraud", "user.a@b c"))
    assert name == "fraud.user.a-b-c.ReportFlow"
    assert upstream_state_machine_name(name, "ReportFlow", "T") == "fraud.user.a-b-c.T"
    assert len(state_machine_name("F", ("p", "test." + "b" * 100))) == 80


def test_an_upstream_name_needs_a_state_machine_named_after_the_flow() -> None:
    assert upstream_state_machine_name("ReportFlow", "ReportFlow", "TrainFlow") == "TrainFlow"
    assert upstream_state_machine_name("p.prod.ReportFlow", "ReportFlow", "T") == "p.prod.T"
    with pytest.raises(NamingError, match="not named after the flow") as caught:
        upstream_state_machine_name("reports-v2", "ReportFlow", "TrainFlow")
    assert "Fix:" in str(caught.value)


def test_a_local_folder_trigger_is_refused_before_anything_is_made(aws: AwsCalls) -> None:
    class FolderFlow(FlowSpec):
        @step
        def start(self) -> None:
            self.next(self.end)

        @step
        def end(self) -> None:
            pass

    flow = trigger(path="/data/incoming/", suffix=".csv")(FolderFlow)
    aws.take()
    with pytest.raises(FlowDefinitionError, match="local folder") as caught:
        deploy(aws, flow)
    assert "Fix:" in str(caught.value) and "s3://" in str(caught.value)
    assert writes(aws.take()) == []
