"""Make AWS hold exactly the schedules, rules and starter a deployment asks for.

:func:`sync` creates what is missing, updates what differs, leaves alone what already matches
(no update call) and deletes what the deployment made earlier but no longer asks for. A
resource belongs to a deployment when its name starts with the deployment's stem
(:func:`flowkit_sfn.naming.stem`) *and* its description starts with :func:`owner_mark`: a stem
is a name prefix another deployment's names may share, the mark is exact.

The AWS calls, by service:

* Scheduler: ``GetSchedule``, ``CreateSchedule`` / ``UpdateSchedule``, ``ListSchedules``,
  ``DeleteSchedule``;
* EventBridge: ``DescribeRule``, ``ListTargetsByRule``, ``PutRule``, ``PutTargets``,
  ``RemoveTargets``, ``ListRules``, ``DeleteRule``;
* Step Functions (the starter): ``DescribeStateMachine``, ``CreateStateMachine`` /
  ``UpdateStateMachine``, ``ListStateMachines``, ``DeleteStateMachine``;
* IAM: ``GetRole`` (the role's trust policy, checked before anything is made).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flowkit.extend import FlowkitError
from flowkit_sfn.naming import resource_name, stem


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


@dataclass(frozen=True)
class StarterRequest:
    """The starter state machine of a deployment's S3 triggers (:mod:`flowkit_sfn.starter`)."""

    name: str
    arn: str
    definition: dict[str, Any]
    role_arn: str


Request = ScheduleRequest | RuleRequest | StarterRequest


def owner_mark(state_machine: str) -> str:
    """How the description of every schedule and rule of this deployment starts."""
    return f"flowkit deployment {state_machine}:"


def services_assuming(requests: Sequence[Request]) -> list[str]:
    """The AWS services that must be able to assume the deployment's role."""
    needed = {
        ScheduleRequest: "scheduler.amazonaws.com",
        RuleRequest: "events.amazonaws.com",
        StarterRequest: "states.amazonaws.com",
    }
    return sorted({needed[type(request)] for request in requests})


def untrusted_services(iam: Any, role_arn: str, services: Sequence[str]) -> list[str]:
    """Those of ``services`` the role's trust policy does not let assume it.

    A caller allowed to deploy but not to read IAM roles gets no check (``[]``): the role may
    well be right, and AWS reports a wrong one when the schedule or rule first fires.

    Raises:
        EventsConfigError: The role does not exist.
    """
    if not services:
        return []
    try:
        role = iam.get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
    except iam.exceptions.NoSuchEntityException:
        raise EventsConfigError(
            f"the role {role_arn} does not exist",
            hint="create it (see the README's 'Schedules and triggers') or pass another",
        ) from None
    except iam.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("AccessDenied", "AccessDeniedException"):
            return []
        raise
    policy = role.get("AssumeRolePolicyDocument") or {}
    if isinstance(policy, str):  # boto3 decodes it; other clients may hand over the text
        policy = json.loads(policy)
    trusted: set[str] = set()
    for statement in _as_list(policy.get("Statement")):
        actions = _as_list(statement.get("Action"))
        if statement.get("Effect") == "Allow" and "sts:AssumeRole" in actions:
            trusted.update(_as_list((statement.get("Principal") or {}).get("Service")))
    return [service for service in services if service not in trusted]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def sync(
    client: Callable[[str], Any], state_machine: str, requests: Sequence[Request]
) -> tuple[list[str], list[str]]:
    """Make AWS hold exactly ``requests`` of the deployment of ``state_machine``.

    Args:
        client: ``client(service)`` -> boto3 client.
        state_machine: The deployed flow's state machine name.
        requests: Everything the deployment asks for (``[]``: remove it all).

    Returns:
        The ARNs of what is now deployed, and the ARNs of what was deleted.
    """
    scheduler, events, sfn = client("scheduler"), client("events"), client("stepfunctions")
    deployed: list[str] = []
    for request in requests:
        if isinstance(request, StarterRequest):
            deployed.append(_sync_starter(sfn, request))
        elif isinstance(request, ScheduleRequest):
            deployed.append(_sync_schedule(scheduler, request))
        else:
            deployed.append(_sync_rule(events, request))
    wanted = {request.name for request in requests}
    removed = _remove_stale(scheduler, events, state_machine, wanted)
    if not any(isinstance(request, StarterRequest) for request in requests):
        removed += _remove_starter(sfn, state_machine)
    return deployed, removed


def _sync_starter(sfn: Any, request: StarterRequest) -> str:
    try:
        held = sfn.describe_state_machine(stateMachineArn=request.arn)
    except sfn.exceptions.StateMachineDoesNotExist:
        made = sfn.create_state_machine(
            name=request.name,
            definition=json.dumps(request.definition, sort_keys=True),
            roleArn=request.role_arn,
        )
        return str(made["stateMachineArn"])
    if json.loads(held["definition"]) != request.definition or held["roleArn"] != request.role_arn:
        sfn.update_state_machine(
            stateMachineArn=request.arn,
            definition=json.dumps(request.definition, sort_keys=True),
            roleArn=request.role_arn,
        )
    return request.arn


def _sync_schedule(scheduler: Any, request: ScheduleRequest) -> str:
    try:
        held = scheduler.get_schedule(Name=request.name)
    except scheduler.exceptions.ResourceNotFoundException:
        return str(scheduler.create_schedule(**request.kwargs)["ScheduleArn"])
    if not _same(request.kwargs, held):
        scheduler.update_schedule(**request.kwargs)
    return str(held["Arn"])


def _sync_rule(events: Any, request: RuleRequest) -> str:
    try:
        held = events.describe_rule(Name=request.name)
    except events.exceptions.ResourceNotFoundException:
        held = None
    rule_same = held is not None and _same(
        {**request.rule, "EventPattern": json.loads(request.rule["EventPattern"])},
        {**held, "EventPattern": json.loads(held.get("EventPattern") or "null")},
    )
    targets = [] if held is None else events.list_targets_by_rule(Rule=request.name)["Targets"]
    targets_same = len(targets) == len(request.targets) and all(
        any(_same(wanted, target) for target in targets) for wanted in request.targets
    )
    if held is None or not rule_same:
        arn = str(events.put_rule(**request.rule)["RuleArn"])
    else:
        arn = str(held["Arn"])
    if request.targets and not targets_same:
        events.put_targets(Rule=request.name, Targets=request.targets)
    # A target an earlier deployment made that this one no longer has must stop firing.
    stale = {target["Id"] for target in targets} - {target["Id"] for target in request.targets}
    if stale:
        events.remove_targets(Rule=request.name, Ids=sorted(stale))
    return arn


def _same(wanted: Any, held: Any) -> bool:
    """Whether ``held`` has every field of ``wanted`` with the same value (AWS adds defaults)."""
    if isinstance(wanted, Mapping):
        return isinstance(held, Mapping) and all(
            key in held and _same(value, held[key]) for key, value in wanted.items()
        )
    return bool(wanted == held)


def _pages(call: Callable[..., Any], key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a ``NextToken``-paged list call."""
    while True:
        page = call(**kwargs)
        yield from page.get(key, [])
        token = page.get("NextToken") or page.get("nextToken")
        if not token:
            return
        kwargs["nextToken" if "nextToken" in page else "NextToken"] = token


def _remove_stale(scheduler: Any, events: Any, state_machine: str, wanted: set[str]) -> list[str]:
    prefix, mark = stem(state_machine) + "-", owner_mark(state_machine)
    removed: list[str] = []
    for summary in list(_pages(scheduler.list_schedules, "Schedules", NamePrefix=prefix)):
        if summary["Name"] in wanted or summary.get("GroupName", "default") != "default":
            continue
        held = scheduler.get_schedule(Name=summary["Name"])
        if str(held.get("Description") or "").startswith(mark):
            scheduler.delete_schedule(Name=summary["Name"])
            removed.append(str(summary["Arn"]))
    for rule in list(_pages(events.list_rules, "Rules", NamePrefix=prefix)):
        if rule["Name"] in wanted or not str(rule.get("Description") or "").startswith(mark):
            continue
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        if targets:  # a rule with targets cannot be deleted
            events.remove_targets(Rule=rule["Name"], Ids=[t["Id"] for t in targets])
        events.delete_rule(Name=rule["Name"])
        removed.append(str(rule["Arn"]))
    return removed


def _remove_starter(sfn: Any, state_machine: str) -> list[str]:
    name = resource_name(state_machine, "starter")
    for machine in _pages(sfn.list_state_machines, "stateMachines"):
        if machine["name"] != name:
            continue
        held = sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
        comment = json.loads(held["definition"]).get("Comment", "")
        if comment.startswith(f"flowkit starter of {state_machine}:"):
            sfn.delete_state_machine(stateMachineArn=machine["stateMachineArn"])
            return [str(machine["stateMachineArn"])]
    return []
