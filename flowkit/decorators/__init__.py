"""Step and flow decorators (``@retry``, ``@catch``, ``@timeout``, ``@resources``,
``@environment``) and the base classes plugins subclass. See :mod:`flowkit.decorators.base` for
the lifecycle hooks."""

from flowkit.decorators.attach import flow_decorator, step_decorator
from flowkit.decorators.base import FlowDecorator, StepDecorator
from flowkit.decorators.builtin import (
    CaughtException,
    catch,
    environment,
    resources,
    retry,
    timeout,
)

__all__ = [
    "CaughtException",
    "FlowDecorator",
    "StepDecorator",
    "catch",
    "environment",
    "flow_decorator",
    "resources",
    "retry",
    "step_decorator",
    "timeout",
]
