"""The EventBridge side of a Step Functions deployment: what starts a deployed flow's runs.

:func:`deploy_events` (called by ``step-functions create``) makes what a flow's decorators ask
for, and :func:`remove_events` (``step-functions delete``) removes it all:

* ``@schedule`` -> an EventBridge **Scheduler** schedule (:func:`schedule_request`) that starts
  the flow's state machine with ``{"parameters": {}}``, its cron read in the decorator's time
  zone;
* ``@trigger(s3=...)`` -> an EventBridge **rule** on S3 ``Object Created`` for the bucket,
  prefix and suffix (:func:`s3_rule`). Its target is the flow's *starter* state machine
  (:mod:`flowkit_sfn.starter`), which names the run after the object so a duplicated event
  starts no second run; the rule's input transformer builds the run's input, the trigger's
  ``parameters=`` mapping included;
* ``@trigger_on_finish(flow=...)`` -> a rule on the upstream state machine's ``SUCCEEDED``
  status changes (:func:`finish_rule`), starting the flow with the upstream run's id.

Everything is named from the state machine name (:mod:`flowkit_sfn.naming`) and marked as
this deployment's in its description, so a re-deployment finds and removes what the flow no
longer declares. Applying is idempotent (:mod:`flowkit_sfn.eventsync`): what AWS already holds
unchanged gets no update call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from flowkit.extend import (
    FlowDefinitionError,
    ScheduleDecorator,
    TriggerDecorator,
    TriggerOnFinishDecorator,
    flow_decorators,
)
from flowkit_sfn import eventsync
from flowkit_sfn.eventsync import (
    EventsConfigError,
    RuleRequest,
    ScheduleRequest,
    StarterRequest,
    owner_mark,
)
from flowkit_sfn.naming import arn_beside, resource_name, upstream_state_machine_name
from flowkit_sfn.starter import execution_name_for_object, starter_definition

__all__ = [
    "S3_INPUT_PATHS",
    "EventsConfigError",
    "RuleRequest",
    "ScheduleRequest",
    "StarterRequest",
    "deploy_events",
    "execution_name_for_object",
    "finish_rule",
    "remove_events",
    "requests_for_flow",
    "s3_rule",
    "schedule_request",
    "transform_event",
]

#: Paths the S3 rule's input transformer reads from an ``Object Created`` event.
S3_INPUT_PATHS = {
    "bucket": "$.detail.bucket.name",
    "key": "$.detail.object.key",
    "etag": "$.detail.object.etag",
    "version": "$.detail.object.version-id",
}
#: What each field a ``@trigger(parameters=...)`` mapping may name becomes in the template.
_S3_FIELD_TEXT = {
    "url": "s3://<bucket>/<key>",
    "bucket": "<bucket>",
    "key": "<key>",
    "etag": "<etag>",
    "version_id": "<version>",
}
_TARGET_ID = "start-run"


def schedule_request(
    name: str,
    schedule: ScheduleDecorator,
    state_machine_arn: str,
    role_arn: str,
    description: str = "",
) -> ScheduleRequest:
    """The EventBridge Scheduler schedule that starts ``state_machine_arn`` per ``@schedule``.

    Args:
        name: The schedule's name (1-64 characters).
        schedule: The flow's ``@schedule`` decorator.
        state_machine_arn: The state machine each firing starts, with ``{"parameters": {}}``.
        role_arn: The role Scheduler assumes to call ``states:StartExecution``.
        description: The schedule's description (the deployment's mark).

    Raises:
        DecoratorArgumentError: The schedule's cron or time zone is invalid.
    """
    return ScheduleRequest(
        {
            "Name": name,
            "Description": description or f"flowkit @schedule: {schedule.describe()[0]}",
            "ScheduleExpression": schedule.cron_schedule().aws_expression,
            "ScheduleExpressionTimezone": schedule.zone(),
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Target": {
                "Arn": state_machine_arn,
                "RoleArn": role_arn,
                "Input": json.dumps({"parameters": {}}),
            },
        }
    )


def refuse_local_triggers(flow_cls: type) -> None:
    """Refuse ``@trigger(path=...)``: EventBridge sees S3 objects, not a machine's folders.

    Called by ``step-functions create`` before anything is made in AWS.

    Raises:
        FlowDefinitionError: The flow watches a local folder.
    """
    for deco in flow_decorators(flow_cls):
        if isinstance(deco, TriggerDecorator) and deco.attributes["path"] is not None:
            raise FlowDefinitionError(
                f"@trigger(path={deco.attributes['path']!r}) watches a local folder, which "
                "Step Functions cannot see: only S3 objects emit the events that start a run",
                hint="land the files in S3 and use @trigger(s3='s3://bucket/prefix/'), or "
                "deploy the flow to Airflow, which polls local folders",
            )


def s3_input_template(trigger: TriggerDecorator) -> str:
    """The execution input the S3 rule's transformer builds (placeholders inside JSON strings).

    ``{"parameters": {<flow parameter>: <field>, ...}, "trigger": {"type": "s3", "url",
    "bucket", "key", "etag", "version_id"}}``, the parameters as ``@trigger(parameters=...)``
    maps them.
    """
    parameters = ", ".join(
        f'{json.dumps(name)}: "{_S3_FIELD_TEXT[field]}"'
        for name, field in trigger.parameter_fields().items()
    )
    fields = ", ".join(f'"{field}": "{text}"' for field, text in _S3_FIELD_TEXT.items())
    return f'{{"parameters": {{{parameters}}}, "trigger": {{"type": "s3", {fields}}}}}'


def s3_rule(
    name: str,
    trigger: TriggerDecorator,
    starter_arn: str,
    role_arn: str,
    description: str = "",
) -> RuleRequest:
    """The rule that starts the flow (through its starter) when an object lands where asked.

    The bucket must send its events to EventBridge (its notification configuration's
    ``EventBridgeConfiguration``); that is the bucket owner's setting, not made here.

    Args:
        name: The rule's name (1-64 characters).
        trigger: The flow's ``@trigger`` decorator.
        starter_arn: The starter state machine a matching event starts.
        role_arn: The role EventBridge assumes to call ``states:StartExecution``.
        description: The rule's description (the deployment's mark).

    Raises:
        DecoratorArgumentError: The trigger's S3 URL or parameters mapping is invalid.
    """
    where = trigger.s3_trigger()
    detail: dict[str, Any] = {"bucket": {"name": [where.bucket]}}
    if where.prefix or where.suffix:
        detail["object"] = {"key": [_key_matcher(where.prefix, where.suffix)]}
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail}
    target = {
        "Id": _TARGET_ID,
        "Arn": starter_arn,
        "RoleArn": role_arn,
        "InputTransformer": {
            "InputPathsMap": dict(S3_INPUT_PATHS),
            "InputTemplate": s3_input_template(trigger),
        },
    }
    text = description or f"flowkit @trigger: {trigger.describe()[0]}"
    return RuleRequest(_rule(name, pattern, text), [target])


def _key_matcher(prefix: str, suffix: str) -> dict[str, str]:
    if prefix and suffix:
        # EventBridge takes one matcher per field; a prefix and a suffix together need the
        # wildcard form.
        escaped = [part.replace("\\", "\\\\").replace("*", "\\*") for part in (prefix, suffix)]
        return {"wildcard": f"{escaped[0]}*{escaped[1]}"}
    return {"prefix": prefix} if prefix else {"suffix": suffix}


def finish_rule(
    name: str,
    upstream_flow: str,
    upstream_state_machine_arn: str,
    state_machine_arn: str,
    role_arn: str,
    description: str = "",
) -> RuleRequest:
    """The rule that starts ``state_machine_arn`` when a run of the upstream flow succeeds.

    The run's input is ``{"parameters": {}, "trigger": {"type": "run", "flow": <upstream>,
    "run_id": "sfn-<upstream execution name>"}}``: the upstream run's id, as the client
    names runs made by Step Functions.

    Args:
        name: The rule's name (1-64 characters).
        upstream_flow: The flow ``@trigger_on_finish`` names.
        upstream_state_machine_arn: Its deployed state machine (may be deployed later).
        state_machine_arn: The state machine to start.
        role_arn: The role EventBridge assumes to call ``states:StartExecution``.
        description: The rule's description (the deployment's mark).
    """
    pattern = {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["SUCCEEDED"], "stateMachineArn": [upstream_state_machine_arn]},
    }
    flow = json.dumps(upstream_flow)
    target = {
        "Id": _TARGET_ID,
        "Arn": state_machine_arn,
        "RoleArn": role_arn,
        "InputTransformer": {
            "InputPathsMap": {"execution": "$.detail.name"},
            "InputTemplate": (
                f'{{"parameters": {{}}, "trigger": {{"type": "run", "flow": {flow}, '
                '"run_id": "sfn-<execution>"}}'
            ),
        },
    }
    text = description or f"flowkit @trigger_on_finish: {upstream_state_machine_arn} succeeded"
    return RuleRequest(_rule(name, pattern, text), [target])


def _rule(name: str, pattern: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "Name": name,
        "EventPattern": json.dumps(pattern, sort_keys=True),
        "State": "ENABLED",
        "Description": description[:512],
    }


def requests_for_flow(
    flow_cls: type, state_machine_name: str, state_machine_arn: str, role_arn: str
) -> list[ScheduleRequest | RuleRequest | StarterRequest]:
    """Everything a flow's decorators ask for, named after its state machine.

    Args:
        flow_cls: The flow class.
        state_machine_name: The flow's state machine name (:mod:`flowkit_sfn.naming`).
        state_machine_arn: Its ARN; the starter and upstream flows are in its account/region.
        role_arn: The role Scheduler, EventBridge and the starter use to start executions.

    Raises:
        DecoratorArgumentError: A decorator's arguments are invalid.
        NamingError: The state machine name does not follow the flow's name.
    """
    refuse_local_triggers(flow_cls)
    mark = owner_mark(state_machine_name)
    flow_name = flow_cls.__name__
    requests: list[ScheduleRequest | RuleRequest | StarterRequest] = []
    starter_name = resource_name(state_machine_name, "starter")
    starter_arn = arn_beside(state_machine_arn, starter_name)
    triggers = 0
    for deco in flow_decorators(flow_cls):
        if isinstance(deco, ScheduleDecorator):
            name = resource_name(state_machine_name, "schedule")
            text = f"{mark} {deco.describe()[0]}"
            requests.append(schedule_request(name, deco, state_machine_arn, role_arn, text))
        elif isinstance(deco, TriggerDecorator):
            triggers += 1
            name = resource_name(state_machine_name, "s3", str(triggers))
            text = f"{mark} {deco.describe()[0]}"
            requests.append(s3_rule(name, deco, starter_arn, role_arn, text))
        elif isinstance(deco, TriggerOnFinishDecorator):
            for upstream in deco.upstream():
                name = resource_name(state_machine_name, "after", upstream)
                machine = upstream_state_machine_name(state_machine_name, flow_name, upstream)
                upstream_arn = arn_beside(state_machine_arn, machine)
                text = f"{mark} trigger: a successful run of {machine}"
                requests.append(
                    finish_rule(name, upstream, upstream_arn, state_machine_arn, role_arn, text)
                )
    if triggers:
        definition = starter_definition(state_machine_arn, state_machine_name)
        requests.insert(0, StarterRequest(starter_name, starter_arn, definition, role_arn))
    return requests


def deploy_events(
    flow_cls: type,
    *,
    state_machine_name: str,
    state_machine_arn: str,
    role_arn: str,
    client: Callable[[str], Any],
) -> list[str]:
    """Create or update every schedule, rule and starter the flow's decorators ask for.

    Idempotent: what AWS already holds unchanged gets no update call. Schedules, rules and a
    starter this deployment made earlier that the flow no longer declares are deleted.

    Args:
        flow_cls: The flow class.
        state_machine_name: The flow's state machine name (:mod:`flowkit_sfn.naming`).
        state_machine_arn: Its ARN.
        role_arn: The role EventBridge Scheduler, EventBridge and the starter state machine
            assume to start executions; it must trust ``scheduler.amazonaws.com``,
            ``events.amazonaws.com`` and ``states.amazonaws.com`` as the flow needs them.
        client: ``client("scheduler" | "events" | "stepfunctions" | "iam")`` -> boto3 client.

    Returns:
        The ARNs of the schedules, rules and starter state machine now deployed.

    Raises:
        DecoratorArgumentError: A decorator's arguments are invalid.
        EventsConfigError: The role cannot be assumed by a service that needs it.
        NamingError: The state machine name or ARN does not fit the flow.
    """
    requests = requests_for_flow(flow_cls, state_machine_name, state_machine_arn, role_arn)
    needed = eventsync.services_assuming(requests)
    missing = eventsync.untrusted_services(client("iam"), role_arn, needed)
    if missing:
        raise EventsConfigError(
            f"the role {role_arn} does not trust {', '.join(missing)}, which must assume it "
            f"to start {state_machine_name}",
            hint="add them as Service principals of sts:AssumeRole in the role's trust policy",
        )
    deployed, _ = eventsync.sync(client, state_machine_name, requests)
    return deployed


def remove_events(*, state_machine_name: str, client: Callable[[str], Any]) -> list[str]:
    """Delete every schedule, rule and starter :func:`deploy_events` made for a state machine.

    Args:
        state_machine_name: The flow's state machine name.
        client: ``client("scheduler" | "events" | "stepfunctions")`` -> boto3 client.

    Returns:
        The ARNs of the schedules, rules and starter deleted.
    """
    _, removed = eventsync.sync(client, state_machine_name, [])
    return removed


def transform_event(input_transformer: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    """The input EventBridge builds from ``event`` with a target's ``InputTransformer``.

    Covers what this module's transformers use: ``$.a.b`` paths and placeholders inside JSON
    strings (a missing path gives an empty string). For tests, which deliver an event document
    to the target a rule names as EventBridge would.
    """
    template = str(input_transformer["InputTemplate"])
    for placeholder, path in input_transformer.get("InputPathsMap", {}).items():
        value: Any = event
        for part in str(path).removeprefix("$.").split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        text = "" if value is None else str(value)
        template = template.replace(f"<{placeholder}>", json.dumps(text)[1:-1])
    return template
