"""Deploying a flow to AWS Step Functions + AWS Batch (in progress: the state machine generator).

:func:`build_state_machine` turns a flow's graph and step decorators into an Amazon States
Language document; :func:`state_machine_for` does the same from a flow class.
:mod:`flowkit_sfn.events` builds and applies the EventBridge Scheduler schedules and rules of a
flow's ``@schedule`` / ``@trigger`` / ``@trigger_on_finish``.
"""

from flowkit_sfn.statemachine import (
    SfnOptions,
    build_state_machine,
    flow_parameters,
    state_machine_for,
)

__all__ = ["SfnOptions", "build_state_machine", "flow_parameters", "state_machine_for"]
