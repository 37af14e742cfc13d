"""flowkit: from notebook experiment to reproducible pipeline.

Write a class whose ``@step`` methods form a DAG and run it with ``python myflow.py run``. Names
are imported lazily so ``import flowkit`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "FlowSpec": "flowkit.dsl.flowspec",
    "step": "flowkit.dsl.step",
    "Parameter": "flowkit.dsl.parameters",
    "IncludeFile": "flowkit.dsl.parameters",
    "JSONType": "flowkit.dsl.parameters",
    "current": "flowkit.dsl.current",
    "FlowkitError": "flowkit.errors",
    "Flow": "flowkit.client",
    "Run": "flowkit.client",
    "Step": "flowkit.client",
    "Task": "flowkit.client",
    "DataArtifact": "flowkit.client",
    "Metaflow": "flowkit.client",
    "namespace": "flowkit.client",
    "get_namespace": "flowkit.client",
    "default_namespace": "flowkit.client",
    "get_metadata": "flowkit.client",
    "set_datastore_root": "flowkit.client",
    "retry": "flowkit.decorators.builtin",
    "catch": "flowkit.decorators.builtin",
    "timeout": "flowkit.decorators.builtin",
    "resources": "flowkit.decorators.builtin",
    "environment": "flowkit.decorators.builtin",
    "parallel": "flowkit.decorators.parallel",
    "StepDecorator": "flowkit.decorators.base",
    "FlowDecorator": "flowkit.decorators.base",
    "step_decorator": "flowkit.decorators.attach",
    "flow_decorator": "flowkit.decorators.attach",
}

__all__ = [
    "DataArtifact",
    "Flow",
    "FlowDecorator",
    "FlowSpec",
    "FlowkitError",
    "IncludeFile",
    "JSONType",
    "Metaflow",
    "Parameter",
    "Run",
    "Step",
    "StepDecorator",
    "Task",
    "catch",
    "current",
    "default_namespace",
    "environment",
    "flow_decorator",
    "get_metadata",
    "get_namespace",
    "namespace",
    "parallel",
    "resources",
    "retry",
    "set_datastore_root",
    "step",
    "step_decorator",
    "timeout",
]

if TYPE_CHECKING:
    from flowkit.client import (
        DataArtifact,
        Flow,
        Metaflow,
        Run,
        Step,
        Task,
        default_namespace,
        get_metadata,
        get_namespace,
        namespace,
        set_datastore_root,
    )
    from flowkit.decorators.attach import flow_decorator, step_decorator
    from flowkit.decorators.base import FlowDecorator, StepDecorator
    from flowkit.decorators.builtin import catch, environment, resources, retry, timeout
    from flowkit.decorators.parallel import parallel
    from flowkit.dsl.current import current
    from flowkit.dsl.flowspec import FlowSpec
    from flowkit.dsl.parameters import IncludeFile, JSONType, Parameter
    from flowkit.dsl.step import step
    from flowkit.errors import FlowkitError


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'flowkit' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(module_name)
    value = getattr(module, name)
    globals()[name] = value
    return value
