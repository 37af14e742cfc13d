"""The EventBridge side of a Step Functions deployment: what starts a deployed flow's runs.

Three kinds of request, built by pure functions from a flow's decorators:

* ``@schedule`` -> an EventBridge **Scheduler** schedule (:func:`schedule_request`), its cron
  read in the decorator's time zone;
* ``@trigger(s3=...)`` -> an EventBridge **rule** on S3 ``Object Created`` for the bucket,
  prefix and suffix (:func:`s3_rule`), whose target's input transformer hands the object's URL,
  key, etag and version to the run;
* ``@trigger_on_finish(flow=...)`` -> a rule on the upstream state machine's ``SUCCEEDED``
  status changes (:func:`finish_rule`).

:func:`apply` creates or updates them and changes nothing when AWS already holds the same
configuration, so a deployer can re-run it freely. S3 delivers events at least once; a starter
that names each execution :func:`execution_name_for_object` turns a duplicate event into the
same execution name, and Step Functions starts no second run for an existing name.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flowkit.extend import (
    FlowkitError,
    ScheduleDecorator,
    TriggerDecorator,
    TriggerOnFinishDecorator,
    flow_decorators,
)

#: The longest execution name Step Functions accepts.
MAX_EXECUTION_NAME = 80
#: Hex digits of the object-identity hash kept in an execution name.
_HASH_CHARS = 24
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")

#: Paths the S3 rule's input transformer reads from an ``Object Created`` event.
S3_INPUT_PATHS = {
    "bucket": "$.detail.bucket.name",
    "key": "$.detail.object.key",
    "etag": "$.detail.object.etag",
    "version": "$.detail.object.version-id",
}
#: The execution input the S3 rule builds (every placeholder sits inside a JSON string).
S3_INPUT_TEMPLATE = (
    '{"trigger": {"url": "s3://<bucket>/<key>", "bucket": "<bucket>", "key": "<key>", '
    '"etag": "<etag>", "version_id": "<version>"}}'
)


class EventsConfigError(FlowkitError):
    """A trigger cannot be turned into an EventBridge request."""


@dataclass(frozen=True)
class ScheduleRequest:
    """Keyword arguments for ``scheduler.create_schedule`` / ``update_schedule``."""

    kwargs: dict[str, Any]

    @property
    def name(self) -> str:
        """The schedule's name."""
        return str(self.kwargs["Name"])


@dataclass(frozen=True)
class RuleRequest:
    """Keyword arguments for ``events.put_rule`` and the ``put_targets`` that go with it."""

    rule: dict[str, Any]
    targets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The rule's name."""
        return str(self.rule["Name"])


def schedule_request(
    name: str,
    schedule: ScheduleDecorator,
    state_machine_arn: str,
    role_arn: str,
    input: Mapping[str, Any] | None = None,
) -> ScheduleRequest:
    """The EventBridge Scheduler schedule that starts ``state_machine_arn`` per ``@schedule``.

    Args:
        name: The schedule's name (1-64 characters), e.g. the deployment name.
        schedule: The flow's ``@schedule`` decorator.
        state_machine_arn: The state machine each firing starts.
        role_arn: The role Scheduler assumes to call ``states:StartExecution``.
        input: The execution input (JSON-serialisable); ``{}`` when omitted.

    Raises:
        DecoratorArgumentError: The schedule's cron or time zone is invalid.
    """
    return ScheduleRequest(
        {
            "Name": name,
            "ScheduleExpression": schedule.cron_schedule().aws_expression,
            "ScheduleExpressionTimezone": schedule.zone(),
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": "ENABLED",
            "Target": {
                "Arn": state_machine_arn,
                "RoleArn": role_arn,
                "Input": json.dumps(dict(input or {}), sort_keys=True),
            },
        }
    )


def s3_rule(
    name: str, trigger: TriggerDecorator, state_machine_arn: str, role_arn: str
) -> RuleRequest:
    """The rule that starts ``state_machine_arn`` when an object lands where ``@trigger`` says.

    The bucket must send its events to EventBridge (its notification configuration's
    ``EventBridgeConfiguration``); that is the bucket owner's setting, not made here.

    Args:
        name: The rule's name (1-64 characters).
        trigger: The flow's ``@trigger`` decorator.
        state_machine_arn: The state machine a matching event starts.
        role_arn: The role EventBridge assumes to call ``states:StartExecution``.

    Raises:
        DecoratorArgumentError: The trigger's S3 URL is invalid.
    """
    where = trigger.s3_trigger()
    key_filter: dict[str, Any] = {}
    if where.prefix:
        key_filter["prefix"] = where.prefix
    if where.suffix:
        key_filter["suffix"] = where.suffix
    detail: dict[str, Any] = {"bucket": {"name": [where.bucket]}}
    if key_filter:
        # EventBridge takes one matcher per object; a prefix and a suffix together need the
        # wildcard form.
        detail["object"] = {"key": [_key_matcher(where.prefix, where.suffix)]}
    pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail}
    target = {
        "Id": "start-run",
        "Arn": state_machine_arn,
        "RoleArn": role_arn,
        "InputTransformer": {
            "InputPathsMap": dict(S3_INPUT_PATHS),
            "InputTemplate": S3_INPUT_TEMPLATE,
        },
    }
    return RuleRequest(_rule(name, pattern, f"flowkit @trigger: {trigger.describe()[0]}"), [target])


def _key_matcher(prefix: str, suffix: str) -> dict[str, str]:
    if prefix and suffix:
        escaped = [part.replace("\\", "\\\\").replace("*", "\\*") for part in (prefix, suffix)]
        return {"wildcard": f"{escaped[0]}*{escaped[1]}"}
    return {"prefix": prefix} if prefix else {"suffix": suffix}


def finish_rule(
    name: str, upstream_state_machine_arn: str, state_machine_arn: str, role_arn: str
) -> RuleRequest:
    """The rule that starts ``state_machine_arn`` when a run of the upstream one succeeds.

    Args:
        name: The rule's name (1-64 characters).
        upstream_state_machine_arn: The deployed flow named by ``@trigger_on_finish``.
        state_machine_arn: The state machine to start.
        role_arn: The role EventBridge assumes to call ``states:StartExecution``.
    """
    pattern = {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["SUCCEEDED"], "stateMachineArn": [upstream_state_machine_arn]},
    }
    target = {
        "Id": "start-run",
        "Arn": state_machine_arn,
        "RoleArn": role_arn,
        "InputTransformer": {
            "InputPathsMap": {"execution": "$.detail.executionArn"},
            "InputTemplate": '{"trigger": {"upstream_execution": "<execution>"}}',
        },
    }
    description = f"flowkit @trigger_on_finish: {upstream_state_machine_arn} succeeded"
    return RuleRequest(_rule(name, pattern, description), [target])


def _rule(name: str, pattern: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "Name": name,
        "EventPattern": json.dumps(pattern, sort_keys=True),
        "State": "ENABLED",
        "Description": description[:512],
    }


def requests_for_flow(
    flow_cls: type,
    name: str,
    state_machine_arn: str,
    role_arn: str,
    upstream_arns: Mapping[str, str] | None = None,
) -> list[ScheduleRequest | RuleRequest]:
    """Every schedule and rule a flow's decorators ask for, named after ``name``.

    Args:
        flow_cls: The flow class.
        name: The deployment's name; requests are ``<name>``, ``<name>-s3-<i>``,
            ``<name>-after-<Flow>``.
        state_machine_arn: The flow's state machine.
        role_arn: The role Scheduler and EventBridge assume to start it.
        upstream_arns: State machine ARN of each flow ``@trigger_on_finish`` names.

    Raises:
        EventsConfigError: An upstream flow has no state machine ARN in ``upstream_arns``.
    """
    upstream_arns = upstream_arns or {}
    requests: list[ScheduleRequest | RuleRequest] = []
    triggers = 0
    for deco in flow_decorators(flow_cls):
        if isinstance(deco, ScheduleDecorator):
            requests.append(schedule_request(name, deco, state_machine_arn, role_arn))
        elif isinstance(deco, TriggerDecorator):
            triggers += 1
            rule_name = f"{name}-s3-{triggers}"
            requests.append(s3_rule(rule_name, deco, state_machine_arn, role_arn))
        elif isinstance(deco, TriggerOnFinishDecorator):
            for upstream in deco.upstream():
                if upstream not in upstream_arns:
                    raise EventsConfigError(
                        f"@trigger_on_finish names {upstream}, which has no deployed state machine",
                        hint=f"deploy {upstream} first, or pass its state machine ARN",
                    )
                rule_name = f"{name}-after-{upstream}"
                requests.append(
                    finish_rule(rule_name, upstream_arns[upstream], state_machine_arn, role_arn)
                )
    return requests


def execution_name_for_object(bucket: str, key: str, version_or_etag: str) -> str:
    """A Step Functions execution name that is the same for every delivery of one S3 object.

    Readable where it can be (``bucket-key`` with unsafe characters replaced), always ending in
    a hash of the exact identity so two objects whose readable parts collide stay distinct.
    At most 80 characters of ``A-Z a-z 0-9 _ -``.

    Args:
        bucket: The bucket name.
        key: The object key.
        version_or_etag: The version id, or the etag when the bucket is not versioned.
    """
    identity = json.dumps([bucket, key, version_or_etag])
    digest = hashlib.sha256(identity.encode()).hexdigest()[:_HASH_CHARS]
    readable = _UNSAFE_NAME_CHARS.sub("-", f"{bucket}-{key}").strip("-")
    room = MAX_EXECUTION_NAME - _HASH_CHARS - 1
    return f"{readable[:room]}-{digest}" if readable else digest


def transform_event(input_transformer: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    """The input EventBridge builds from ``event`` with a target's ``InputTransformer``.

    Covers what this module's transformers use: ``$.a.b`` paths and placeholders inside JSON
    strings (a missing path gives an empty string). For local tests and starters, which see
    the same execution input a rule's target receives.
    """
    template = str(input_transformer["InputTemplate"])
    for placeholder, path in input_transformer.get("InputPathsMap", {}).items():
        value: Any = event
        for part in str(path).removeprefix("$.").split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        text = "" if value is None else str(value)
        template = template.replace(f"<{placeholder}>", json.dumps(text)[1:-1])
    return template


def apply(
    clients: Mapping[str, Any], requests: Sequence[ScheduleRequest | RuleRequest]
) -> list[str]:
    """Create or update each schedule and rule; leave alone what already matches.

    Args:
        clients: boto3 clients under ``"scheduler"`` and ``"events"``.
        requests: What :func:`schedule_request`, :func:`s3_rule` and :func:`finish_rule` made.

    Returns:
        One line per change made (``created schedule X``, ``updated rule Y``); empty when AWS
        already held exactly this configuration.
    """
    changes: list[str] = []
    for request in requests:
        if isinstance(request, ScheduleRequest):
            change = _apply_schedule(clients["scheduler"], request)
        else:
            change = _apply_rule(clients["events"], request)
        if change:
            changes.append(change)
    return changes


def _apply_schedule(scheduler: Any, request: ScheduleRequest) -> str:
    try:
        current = scheduler.get_schedule(Name=request.name)
    except scheduler.exceptions.ResourceNotFoundException:
        scheduler.create_schedule(**request.kwargs)
        return f"created schedule {request.name}"
    if _same(request.kwargs, current):
        return ""
    scheduler.update_schedule(**request.kwargs)
    return f"updated schedule {request.name}"


def _apply_rule(events: Any, request: RuleRequest) -> str:
    try:
        current = events.describe_rule(Name=request.name)
    except events.exceptions.ResourceNotFoundException:
        current = None
    rule_same = current is not None and _same(
        {**request.rule, "EventPattern": json.loads(request.rule["EventPattern"])},
        {**current, "EventPattern": json.loads(current.get("EventPattern") or "null")},
    )
    held = [] if current is None else events.list_targets_by_rule(Rule=request.name)["Targets"]
    targets_same = len(held) == len(request.targets) and all(
        any(_same(wanted, target) for target in held) for wanted in request.targets
    )
    if rule_same and targets_same:
        return ""
    events.put_rule(**request.rule)
    if request.targets:
        events.put_targets(Rule=request.name, Targets=request.targets)
    # A target an earlier deployment made that this one no longer has must stop firing.
    stale = {target["Id"] for target in held} - {target["Id"] for target in request.targets}
    if stale:
        events.remove_targets(Rule=request.name, Ids=sorted(stale))
    return f"{'created' if current is None else 'updated'} rule {request.name}"


def _same(wanted: Any, held: Any) -> bool:
    """Whether ``held`` has every field of ``wanted`` with the same value (AWS adds defaults)."""
    if isinstance(wanted, Mapping):
        return isinstance(held, Mapping) and all(
            key in held and _same(value, held[key]) for key, value in wanted.items()
        )
    return bool(wanted == held)
