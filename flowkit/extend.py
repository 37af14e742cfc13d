"""The one module a flowkit plugin imports: everything an extension author needs, and no more.

A plugin is an ordinary package that registers objects in the ``flowkit.plugins`` entry-point
group (see :mod:`flowkit.registry`); flowkit loads each one only when its name is asked for.
Apart from the user API of the top-level ``flowkit`` package, a plugin imports flowkit only from
here: the names below are kept stable across releases, the modules behind them are not.

**Step and flow decorators** — subclass :class:`StepDecorator` (lifecycle hooks such as
``step_init``, ``task_environment``, ``task_pre_step``, ``executor_name``) or
:class:`FlowDecorator`; make the user-facing decorator with :func:`step_decorator` /
:func:`flow_decorator`; register the class as ``step.<name>`` / ``flow.<name>``. Users then
write ``from flowkit import <name>`` (or import it from the plugin) and ``--with <name>``::

    [project.entry-points."flowkit.plugins"]
    "step.shout" = "flowkit_shout:ShoutDecorator"

**Executors** — a step decorator whose ``executor_name()`` returns ``"<name>"`` sends its step
to the executor registered as ``executor.<name>``. A remote job system subclasses
:class:`RemoteExecutor` and implements four primitives (``submit``, ``describe``, ``read_log``,
``terminate``) over :class:`TaskSpec` (its inputs as :class:`ParentRef` s), :class:`Submission`
and :class:`JobReport`; the base
queues, polls, streams logs, enforces ``@timeout`` and records outcomes. :class:`RunContext` is
the run being executed (flow, graph, datastore, run id, decorators, ``--with`` values), and
:func:`spec_to_args` turns a task into the ``python FLOW.py step ...`` arguments that run it
elsewhere; :func:`open_flow_datastore` and :func:`extract_snapshot` are what a job needs to
fetch its run's code before it does (:func:`checkout_deployed_code` does both steps and works
from the extracted folder; :func:`load_deployed_flow` also imports the flow class from it).

**Orchestrated runs** — a deployer that runs each task as a job of another scheduler (Airflow)
uploads the code with :func:`build_snapshot` (``FlowDatastore.content.put``), starts the run
under the orchestrator's own id with ``FlowDatastore.claim_run(RunRecord, run_id)``, reads the
parents' :class:`TaskManifest` s to find each task's inputs and :class:`ForeachFrame` s, and a
foreach child's element with :func:`read_splits`. :class:`FailurePolicy` applies ``@catch`` to
a failed last attempt (``decide(spec, manifest).caught`` is the manifest to store instead).

**Gangs** (``@parallel``) — a remote executor that runs a gang as one multi-node job uses
:func:`is_gang_task` and :func:`gang_task_ids` to recognise a gang's tasks, and
:func:`gang_environment` / :data:`DEFAULT_MAIN_PORT` to give each node the variables
``current.parallel`` and ``torch.distributed`` read.

**Deployment triggers** — a deployer reads a flow's :class:`ScheduleDecorator`,
:class:`TriggerDecorator` and :class:`TriggerOnFinishDecorator` from
:func:`flow_decorators` (the decorators declared on a flow class, top first).

**Settings** — declare a frozen dataclass and register its declaration as
``settings.<plugin>``::

    @dataclass(frozen=True)
    class ShoutSettings:
        volume: int = 3

    SETTINGS = declare_settings("shout", ShoutSettings)  # shout_volume, FLOWKIT_SHOUT_VOLUME

``SETTINGS.load()`` reads them from the environment and the config file exactly like flowkit's
own (:func:`load_settings`), and ``flowkit config`` lists them. Keep that module free of heavy
imports: ``flowkit config`` loads it.

**CLI commands** — register a :class:`click.Command` as ``command.<name>``; it appears in
``flowkit --help`` and runs as ``flowkit <name>``, loaded only when listed or invoked.

**The flow's graph** — :func:`load_graph` parses and checks a flow class into a
:class:`FlowGraph` of :class:`StepNode` (kinds, transitions, joins, loops), and
:func:`resolve_step_decorators` gives each step's validated decorators: what a deployer that
translates a flow for another scheduler reads (``flowkit_sfn``).

**Flow commands** — register a factory ``make(flow) -> click.Command`` as
``flowcommand.<name>``; it runs as ``python FLOW.py <name> ...`` and is loaded only when invoked
or listed. ``flow`` is the flow's command-line state: ``flow.flow_cls``, ``flow.flow_file``,
``flow.graph()`` (checked), ``flow.decorators(graph)`` (validated), ``flow.settings()``.

**Deployers** — an orchestrator plugin provides a flow command (``flowcommand.<name>``: at
least ``create``/``trigger``, keeping the report-file contract of
:mod:`flowkit.runner_api.deployer`) and registers a :class:`DeployerImpl` subclass (its
``TYPE`` the command's name) as ``deployer.<name>``; ``Deployer("flow.py").<name>()`` then
returns it. :func:`option_args` turns keyword arguments into the command's options.

**External orchestrators** — a deployer whose scheduler starts the tasks itself (no runner of
ours alive) stores the deployed code with :func:`build_snapshot` (content-addressed, like a
run's), names the run itself and writes its start record with :func:`start_external_run`
(parameters converted and defaulted as ``run`` does; :func:`flow_parameters` gives a flow's
declarations), gives a foreach split its levels with
:func:`child_foreach_json`, runs each task with the flow file's
``step`` command (after :func:`bind_trigger` when an event started the run, for
``current.trigger``), applies ``@catch`` to a failed last attempt with
:func:`catch_failed_task`, and ends the run with the datastore's ``finish_run``.

**Errors** — raise :class:`FlowkitError` subclasses with a ``hint`` ("Fix: ..."); the CLI shows
them as one short message with the error's ``exit_code``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "StepDecorator": "flowkit.decorators.base",
    "FlowDecorator": "flowkit.decorators.base",
    "DecoratorArgumentError": "flowkit.decorators.base",
    "step_decorator": "flowkit.decorators.attach",
    "flow_decorator": "flowkit.decorators.attach",
    "flow_decorators": "flowkit.decorators.attach",
    "ScheduleDecorator": "flowkit.decorators.schedule",
    "TriggerDecorator": "flowkit.decorators.schedule",
    "TriggerOnFinishDecorator": "flowkit.decorators.schedule",
    "FlowkitError": "flowkit.errors",
    "FlowDefinitionError": "flowkit.errors",
    "ConfigError": "flowkit.errors",
    "PluginError": "flowkit.registry",
    "PluginImportError": "flowkit.registry",
    "Settings": "flowkit.settings",
    "load_settings": "flowkit.settings",
    "PluginSettings": "flowkit.settings",
    "declare_settings": "flowkit.settings",
    "TaskSpec": "flowkit.runtime.spec",
    "ParentRef": "flowkit.runtime.spec",
    "RunContext": "flowkit.runtime.task",
    "spec_to_args": "flowkit.runtime.entry",
    "RemoteExecutor": "flowkit.runtime.remote",
    "Submission": "flowkit.runtime.remote",
    "JobReport": "flowkit.runtime.remote",
    "SubmitError": "flowkit.runtime.remote",
    "QUEUED": "flowkit.runtime.remote",
    "RUNNING": "flowkit.runtime.remote",
    "DONE": "flowkit.runtime.remote",
    "FlowDatastore": "flowkit.datastore.flowstore",
    "extract_snapshot": "flowkit.datastore.codesnap",
    "build_snapshot": "flowkit.datastore.codesnap",
    "checkout_deployed_code": "flowkit.runtime.deployed",
    "load_deployed_flow": "flowkit.runtime.deployed",
    "start_external_run": "flowkit.runtime.external",
    "child_foreach_json": "flowkit.runtime.external",
    "catch_failed_task": "flowkit.runtime.external",
    "bind_trigger": "flowkit.dsl.current",
    "RunRecord": "flowkit.datastore.manifest",
    "TaskManifest": "flowkit.datastore.manifest",
    "ForeachFrame": "flowkit.datastore.manifest",
    "read_splits": "flowkit.runtime.splits",
    "FailurePolicy": "flowkit.runtime.policy",
    "RunNotFound": "flowkit.errors",
    "DEFAULT_MAIN_PORT": "flowkit.decorators.parallel",
    "gang_environment": "flowkit.decorators.parallel",
    "gang_task_ids": "flowkit.runtime.gang",
    "is_gang_task": "flowkit.runtime.gang",
    "FlowGraph": "flowkit.graph.model",
    "StepNode": "flowkit.graph.model",
    "load_graph": "flowkit.graph",
    "flow_parameters": "flowkit.dsl.parameters",
    "resolve_step_decorators": "flowkit.decorators.resolve",
    "DeployerImpl": "flowkit.runner_api.deployer",
    "DeployedFlow": "flowkit.runner_api.deployer",
    "TriggeredRun": "flowkit.runner_api.deployer",
    "DeployerError": "flowkit.runner_api.deployer",
    "option_args": "flowkit.runner_api.params",
    "CatalogChoice": "flowkit.datastore.manifest",
    "catalog_for_run": "flowkit.catalog.travel",
    "store_deployed_catalog": "flowkit.catalog.travel",
    "read_deployed_catalog": "flowkit.catalog.travel",
}

__all__ = [
    "DEFAULT_MAIN_PORT",
    "DONE",
    "QUEUED",
    "RUNNING",
    "CatalogChoice",
    "ConfigError",
    "DecoratorArgumentError",
    "DeployedFlow",
    "DeployerError",
    "DeployerImpl",
    "FailurePolicy",
    "FlowDatastore",
    "FlowDecorator",
    "FlowDefinitionError",
    "FlowGraph",
    "FlowkitError",
    "ForeachFrame",
    "JobReport",
    "ParentRef",
    "PluginError",
    "PluginImportError",
    "PluginSettings",
    "RemoteExecutor",
    "RunContext",
    "RunNotFound",
    "RunRecord",
    "ScheduleDecorator",
    "Settings",
    "StepDecorator",
    "StepNode",
    "Submission",
    "SubmitError",
    "TaskManifest",
    "TaskSpec",
    "TriggerDecorator",
    "TriggerOnFinishDecorator",
    "TriggeredRun",
    "bind_trigger",
    "build_snapshot",
    "catalog_for_run",
    "catch_failed_task",
    "checkout_deployed_code",
    "child_foreach_json",
    "declare_settings",
    "extract_snapshot",
    "flow_decorator",
    "flow_decorators",
    "flow_parameters",
    "gang_environment",
    "gang_task_ids",
    "is_gang_task",
    "load_deployed_flow",
    "load_graph",
    "load_settings",
    "open_flow_datastore",
    "option_args",
    "read_deployed_catalog",
    "read_splits",
    "resolve_step_decorators",
    "spec_to_args",
    "start_external_run",
    "step_decorator",
    "store_deployed_catalog",
]

if TYPE_CHECKING:
    from flowkit.catalog.travel import (
        catalog_for_run,
        read_deployed_catalog,
        store_deployed_catalog,
    )
    from flowkit.datastore.codesnap import build_snapshot, extract_snapshot
    from flowkit.datastore.flowstore import FlowDatastore
    from flowkit.datastore.manifest import CatalogChoice, ForeachFrame, RunRecord, TaskManifest
    from flowkit.decorators.attach import flow_decorator, flow_decorators, step_decorator
    from flowkit.decorators.base import DecoratorArgumentError, FlowDecorator, StepDecorator
    from flowkit.decorators.parallel import DEFAULT_MAIN_PORT, gang_environment
    from flowkit.decorators.resolve import resolve_step_decorators
    from flowkit.decorators.schedule import (
        ScheduleDecorator,
        TriggerDecorator,
        TriggerOnFinishDecorator,
    )
    from flowkit.dsl.current import bind_trigger
    from flowkit.dsl.parameters import flow_parameters
    from flowkit.errors import ConfigError, FlowDefinitionError, FlowkitError, RunNotFound
    from flowkit.graph import load_graph
    from flowkit.graph.model import FlowGraph, StepNode
    from flowkit.registry import PluginError, PluginImportError
    from flowkit.runner_api.deployer import (
        DeployedFlow,
        DeployerError,
        DeployerImpl,
        TriggeredRun,
    )
    from flowkit.runner_api.params import option_args
    from flowkit.runtime.deployed import checkout_deployed_code, load_deployed_flow
    from flowkit.runtime.entry import spec_to_args
    from flowkit.runtime.external import (
        catch_failed_task,
        child_foreach_json,
        start_external_run,
    )
    from flowkit.runtime.gang import gang_task_ids, is_gang_task
    from flowkit.runtime.policy import FailurePolicy
    from flowkit.runtime.remote import (
        DONE,
        QUEUED,
        RUNNING,
        JobReport,
        RemoteExecutor,
        Submission,
        SubmitError,
    )
    from flowkit.runtime.spec import ParentRef, TaskSpec
    from flowkit.runtime.splits import read_splits
    from flowkit.runtime.task import RunContext
    from flowkit.settings import PluginSettings, Settings, declare_settings, load_settings


def open_flow_datastore(
    root: str, flow_name: str, settings: Settings | None = None
) -> FlowDatastore:
    """The datastore of ``flow_name`` under ``root`` (a path or an fsspec URL such as ``s3://``).

    Args:
        root: The datastore root, e.g. ``FLOWKIT_DATASTORE_ROOT`` in a remote job.
        flow_name: The flow's class name.
        settings: Connection settings (S3 endpoint, retries); read when omitted.

    Raises:
        DatastoreError: The URL's scheme is unknown or its library is not installed.
    """
    from flowkit.datastore.flowstore import FlowDatastore
    from flowkit.datastore.storage import ByteStorage

    return FlowDatastore(ByteStorage(root, settings), flow_name)


def __getattr__(name: str) -> Any:
    # Lazy, like ``flowkit`` itself: a plugin's decorator module imports this without paying
    # for the runtime or the datastore (fsspec, pandas) until an executor is really used.
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'flowkit.extend' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
