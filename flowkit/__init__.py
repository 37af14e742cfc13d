"""flowkit: from notebook experiment to reproducible pipeline.

Write a class whose ``@step`` methods form a DAG and run it with ``python myflow.py run``. Names
are imported lazily so ``import flowkit`` stays fast.

Installed plugins' step and flow decorators are reachable here by name too
(``from flowkit import batch``): a name flowkit does not define itself is looked up in the
``flowkit.plugins`` entry points the first time it is asked for, never at ``import flowkit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowkit.flow_main import set_flow_main as _set_flow_main
from flowkit.version import __version__ as __version__


def _run_flow_cli(flow_cls: type) -> None:
    """``MyFlow()`` in a flow file's ``__main__``: the flow's command line, imported on use."""
    from flowkit.cli.flow_cli import run_flow_cli

    run_flow_cli(flow_cls)


# The package sits above every layer: it plugs the CLI into the flow language, which must not
# import it (see flowkit.flow_main).
_set_flow_main(_run_flow_cli)

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
    "inspect_spin": "flowkit.client",
    "RunDiff": "flowkit.client.diff",
    "reproduce_run": "flowkit.reproduce",
    "Model": "flowkit.client.models",
    "Dataset": "flowkit.client.models",
    "register_artifact": "flowkit.client.models",
    "retry": "flowkit.decorators.builtin",
    "catch": "flowkit.decorators.builtin",
    "timeout": "flowkit.decorators.builtin",
    "resources": "flowkit.decorators.builtin",
    "environment": "flowkit.decorators.builtin",
    "exit_hook": "flowkit.decorators.exit_hook",
    "project": "flowkit.decorators.project",
    "schedule": "flowkit.decorators.schedule",
    "trigger": "flowkit.decorators.schedule",
    "trigger_on_finish": "flowkit.decorators.schedule",
    "parallel": "flowkit.decorators.parallel",
    "StepDecorator": "flowkit.decorators.base",
    "FlowDecorator": "flowkit.decorators.base",
    "step_decorator": "flowkit.decorators.attach",
    "flow_decorator": "flowkit.decorators.attach",
    "Runner": "flowkit.runner_api",
    "NBRunner": "flowkit.runner_api",
    "ExecutingRun": "flowkit.runner_api",
    "ExecutingSpin": "flowkit.runner_api",
    "Deployer": "flowkit.runner_api",
    "DeployedFlow": "flowkit.runner_api",
    "TriggeredRun": "flowkit.runner_api",
    "run_step": "flowkit.steptest",
}

__all__ = [
    "DataArtifact",
    "Dataset",
    "DeployedFlow",
    "Deployer",
    "ExecutingRun",
    "ExecutingSpin",
    "Flow",
    "FlowDecorator",
    "FlowSpec",
    "FlowkitError",
    "IncludeFile",
    "JSONType",
    "Metaflow",
    "Model",
    "NBRunner",
    "Parameter",
    "Run",
    "RunDiff",
    "Runner",
    "Step",
    "StepDecorator",
    "Task",
    "TriggeredRun",
    "catch",
    "current",
    "default_namespace",
    "environment",
    "exit_hook",
    "flow_decorator",
    "get_metadata",
    "get_namespace",
    "inspect_spin",
    "namespace",
    "parallel",
    "project",
    "register_artifact",
    "reproduce_run",
    "resources",
    "retry",
    "run_step",
    "schedule",
    "set_datastore_root",
    "step",
    "step_decorator",
    "timeout",
    "trigger",
    "trigger_on_finish",
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
    from flowkit.client.diff import RunDiff
    from flowkit.client.models import Dataset, Model, register_artifact
    from flowkit.decorators.attach import flow_decorator, step_decorator
    from flowkit.decorators.base import FlowDecorator, StepDecorator
    from flowkit.decorators.builtin import catch, environment, resources, retry, timeout
    from flowkit.decorators.exit_hook import exit_hook
    from flowkit.decorators.parallel import parallel
    from flowkit.decorators.project import project
    from flowkit.decorators.schedule import schedule, trigger, trigger_on_finish
    from flowkit.dsl.current import current
    from flowkit.dsl.flowspec import FlowSpec
    from flowkit.dsl.parameters import IncludeFile, JSONType, Parameter
    from flowkit.dsl.step import step
    from flowkit.errors import FlowkitError
    from flowkit.reproduce import reproduce_run
    from flowkit.runner_api import (
        DeployedFlow,
        Deployer,
        ExecutingRun,
        NBRunner,
        Runner,
        TriggeredRun,
    )
    from flowkit.steptest import run_step


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        value = _plugin_decorator(name)
    else:
        import importlib

        value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def _plugin_decorator(name: str) -> Any:
    """The user-facing decorator of the installed plugin's step or flow decorator ``name``.

    Raises:
        PluginImportError: The plugin is installed but its extra's packages are not (an
            ``ImportError``, with a ``pip install`` hint).
        AttributeError: No plugin provides ``name``.
    """
    missing = AttributeError(f"module 'flowkit' has no attribute {name!r}")
    if name.startswith("_"):  # dunder probes (copy, pickle, IDEs) must not scan entry points
        raise missing
    from flowkit.decorators.attach import flow_decorator, step_decorator
    from flowkit.registry import registry

    plugins = registry()
    for kind, wrap in (("step", step_decorator), ("flow", flow_decorator)):
        # entry-point names may use dashes (``step.my-deco``); Python names cannot
        for key in dict.fromkeys((name, name.replace("_", "-"))):
            if key in plugins.names(kind):
                found = plugins.get(kind, key)  # PluginImportError is an ImportError
                # an entry point names the decorator class, or already the decorator
                return wrap(found) if isinstance(found, type) else found
    raise missing
