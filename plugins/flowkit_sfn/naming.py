"""Names of what a Step Functions deployment creates: its state machine, schedules and rules.

A deployed flow's state machine is named after the flow, or ``<project>.<branch>.<Flow>`` for a
``@project`` flow (``fraud.prod.TrainFlow``, ``fraud.user.alice.TrainFlow``), so production,
test and users' deployments of one flow never replace each other. Everything else a deployment
makes is named from that state machine name (its *stem*):

* the ``@schedule`` schedule: ``<stem>-schedule``;
* the ``@trigger`` rules: ``<stem>-s3-<i>`` (``i`` counting from 1, top decorator first);
* the ``@trigger_on_finish`` rules: ``<stem>-after-<UpstreamFlow>``;
* the starter state machine of the S3 triggers: ``<stem>-starter``.

Rule and schedule names may hold at most 64 characters of ``A-Z a-z 0-9 . _ -``: a longer or
otherwise unsuitable state machine name gets a stem of its first characters plus a hash of the
whole name, so names stay deterministic and distinct.
"""

from __future__ import annotations

import hashlib
import re

from flowkit.extend import FlowkitError

#: The longest rule (EventBridge) and schedule (EventBridge Scheduler) name AWS accepts.
MAX_RULE_NAME = 64
#: The longest stem kept as is; longer names are shortened with a hash.
_MAX_STEM = 40
_HASH = 8
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: The longest state machine name AWS accepts.
MAX_STATE_MACHINE_NAME = 80
# one ``-`` per character, unlike _UNSAFE: a name's length (and so its cut) stays as given
_UNSAFE_IN_STATE_MACHINE = re.compile(r"[^A-Za-z0-9_.-]")


class NamingError(FlowkitError):
    """A deployment name cannot be related to the flow it deploys."""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH]


def state_machine_name(flow_name: str, project_branch: tuple[str, str] | None = None) -> str:
    """The name of a flow's deployed state machine: the one place that decides it.

    Characters a state machine name cannot hold become ``-`` and the name is cut at 80
    characters (what AWS accepts: letters, digits, ``-_.``).

    Args:
        flow_name: The flow class's name.
        project_branch: ``(project name, full branch name)`` of a ``@project`` flow, e.g.
            ``("fraud", "prod")`` or ``("fraud", "user.alice")``; ``None`` without ``@project``.

    Returns:
        ``flow_name``, or ``<project>.<branch>.<flow_name>``.
    """
    name = flow_name
    if project_branch is not None:
        project, branch = project_branch
        name = f"{project}.{branch}.{flow_name}"
    return _UNSAFE_IN_STATE_MACHINE.sub("-", name)[:MAX_STATE_MACHINE_NAME]


def upstream_state_machine_name(deployed: str, flow_name: str, upstream_flow: str) -> str:
    """The state machine of ``upstream_flow`` in the same project and branch as ``deployed``.

    ``@trigger_on_finish(flow="TrainFlow")`` on a flow deployed as ``fraud.prod.ReportFlow``
    listens to ``fraud.prod.TrainFlow``: a production deployment follows production runs, a
    user's test deployment that user's runs.

    Args:
        deployed: The state machine name of the flow that declares the trigger.
        flow_name: That flow's class name.
        upstream_flow: The flow the trigger names.

    Raises:
        NamingError: ``deployed`` is not ``flow_name`` nor ends with ``.<flow_name>``.
    """
    if deployed == flow_name:
        return upstream_flow
    if deployed.endswith("." + flow_name):
        return deployed[: -len(flow_name)] + upstream_flow
    raise NamingError(
        f"the state machine {deployed!r} is not named after the flow {flow_name}, so the "
        f"state machine of {upstream_flow} cannot be told",
        hint="name the state machine with flowkit_sfn.naming.state_machine_name",
    )


def stem(state_machine: str) -> str:
    """The start every schedule and rule name of this deployment shares (at most 40 chars)."""
    safe = _UNSAFE.sub("-", state_machine)
    if safe == state_machine and len(safe) <= _MAX_STEM:
        return safe
    return f"{safe[: _MAX_STEM - _HASH - 1]}-{_digest(state_machine)}"


def resource_name(state_machine: str, kind: str, tag: str = "") -> str:
    """``<stem>-<kind>[-<tag>]``, the tag replaced by its hash where the whole is too long.

    Args:
        state_machine: The deployed flow's state machine name.
        kind: ``schedule``, ``s3``, ``after`` or ``starter``.
        tag: What tells resources of one kind apart (trigger number, upstream flow).
    """
    name = f"{stem(state_machine)}-{kind}"
    if not tag:
        return name
    safe = _UNSAFE.sub("-", tag)
    if safe != tag or len(name) + 1 + len(safe) > MAX_RULE_NAME:
        safe = _digest(tag)
    return f"{name}-{safe}"


def arn_beside(state_machine_arn: str, name: str) -> str:
    """The ARN of state machine ``name`` in the account and region of ``state_machine_arn``.

    Raises:
        NamingError: ``state_machine_arn`` is not a state machine ARN.
    """
    parts = state_machine_arn.split(":")
    if len(parts) != 7 or parts[2] != "states" or parts[5] != "stateMachine":
        raise NamingError(
            f"{state_machine_arn!r} is not a state machine ARN",
            hint="pass arn:aws:states:<region>:<account>:stateMachine:<name>",
        )
    return ":".join([*parts[:6], name])
