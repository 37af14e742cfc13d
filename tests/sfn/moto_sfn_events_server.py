"""moto's server, with its Step Functions service integrations taking AWS's parameter names.

``python tests/sfn/moto_sfn_events_server.py -H 127.0.0.1 -p PORT`` serves like ``moto_server``. One
thing differs: moto 5.2's state machine interpreter (ported from LocalStack without its
botocore request relay) hands a Task's ``Parameters`` to boto3 as written, so the names AWS
documents for an integration (``StateMachineArn``, ``Name``, ``Input`` for
``arn:aws:states:::states:startExecution``) reach botocore unchanged and fail its serializer
with ``KeyError: 'StateMachineArn'``. Step Functions itself maps them to the API's member names;
this server does the same — each top-level parameter is renamed to the operation's input
member of the same name ignoring case — so the state machines under test are the ones
deployed to AWS, unchanged. The response goes back the same way: members in AWS's
``PascalCase`` (``ExecutionArn``) and times as text, where moto would fail to serialize a
``datetime``.

A second fix: moto's interpreter deep-copies a state machine for each execution it starts,
its past executions included, whose worker threads hold locks, so the *second* execution of
any state machine fails (``TypeError: cannot pickle '_thread.RLock' object``, HTTP 500). The
copy here leaves the past executions out; an execution only needs the definition.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

import botocore.session
from moto.server import main as moto_main
from moto.stepfunctions.models import StateMachine
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service,
)

_MODELS: dict[str, Any] = {}


def _operation_members(service: str, action: str) -> dict[str, str]:
    """``{lower-case name: member name}`` of the operation's input (``action`` in camelCase)."""
    if service not in _MODELS:
        _MODELS[service] = botocore.session.get_session().get_service_model(service)
    operation = _MODELS[service].operation_model(action[:1].upper() + action[1:])
    shape = operation.input_shape
    return {} if shape is None else {name.lower(): name for name in shape.members}


def _normalise_parameters(
    self: Any,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    service = self._get_boto_service_name(boto_service_name)
    action = service_action_name or self.resource.api_action
    members = _operation_members(service, action)
    for key in list(parameters):
        member = members.get(key.lower())
        if member is not None and member != key:
            parameters[member] = parameters.pop(key)


def _normalise_response(
    self: Any,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    if not isinstance(response, dict):
        return
    for key in list(response):
        value = response.pop(key)
        response[key[:1].upper() + key[1:]] = (
            value.isoformat() if isinstance(value, datetime.datetime) else value
        )


def _copy_without_executions(self: Any, memo: dict[int, Any]) -> Any:
    clone = object.__new__(type(self))
    memo[id(self)] = clone
    for key, value in vars(self).items():
        setattr(clone, key, [] if key == "executions" else copy.deepcopy(value, memo))
    return clone


state_task_service.StateTaskService._normalise_parameters = _normalise_parameters  # type: ignore[method-assign]
state_task_service.StateTaskService._normalise_response = _normalise_response  # type: ignore[method-assign]
StateMachine.__deepcopy__ = _copy_without_executions  # type: ignore[attr-defined]

if __name__ == "__main__":
    moto_main()
