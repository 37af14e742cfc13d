"""Runs driven by an external orchestrator (AWS Step Functions): no runner of ours is alive.

The orchestrator names the run (``sfn-<execution name>``) and starts one task at a time with
``python FLOW.py step``; what the runner would do around the tasks is done here, from the
tasks' side: :func:`start_external_run` writes the start record (the parameters converted and
defaulted exactly like ``run``'s), and the orchestrator's task wrapper ends the run with the
datastore's ``finish_run``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import CatalogChoice, RunRecord
from flowkit.dsl.parameters import flow_parameters
from flowkit.errors import ParameterError
from flowkit.graph.model import FlowGraph


def parameter_values(flow_cls: type, given: Mapping[str, Any], user: str) -> dict[str, Any]:
    """The run's parameter values from ``given`` (JSON values or strings, by parameter name),
    with the defaults of the parameters it omits.

    Raises:
        ParameterError: A required value is missing, a name is unknown, or a value cannot be
            converted.
    """
    params = flow_parameters(flow_cls)
    by_name = {param.name: attr for attr, param in params.items()}
    unknown = sorted(set(given) - set(by_name) - set(params))
    if unknown:
        raise ParameterError(
            f"the flow has no parameter {', '.join(unknown)}",
            hint=f"its parameters: {', '.join(sorted(by_name)) or 'none'}",
        )
    values: dict[str, Any] = {}
    for attr, param in params.items():
        raw = given.get(param.name, given.get(attr))
        if raw is None:
            default = param.resolve_default(flow_cls.__name__, user)
            if default is None and param.required:
                raise ParameterError(
                    f"parameter {param.name} is required",
                    hint=f'start the execution with {{"parameters": {{"{param.name}": ...}}}}',
                )
            value = param.convert(default) if default is not None else None
        else:
            value = param.convert(raw)
        values[attr] = param.load_value(value)
    return values


def start_external_run(
    flow_cls: type,
    store: FlowDatastore,
    run_id: str,
    given: Mapping[str, Any],
    *,
    code_sha: str,
    flow_file: Path,
    user: str = "",
    tags: Sequence[str] = (),
    system_tags: Sequence[str] = (),
    catalog: CatalogChoice | None = None,
) -> bool:
    """Write the start record of run ``run_id`` with its parameters; no runner, no lease.

    Args:
        flow_cls: The flow class.
        store: The flow's datastore.
        run_id: The orchestrator's name for the run.
        given: Parameter values by name (the execution input's ``parameters``).
        code_sha: The deployed code snapshot.
        flow_file: The flow file inside the snapshot.
        user: Who the run is recorded as started by.
        tags: User tags of the run.
        system_tags: ``@project``'s tags.
        catalog: The data catalog and profile deployed with the flow, if any.

    Returns:
        ``False`` when the run exists already (the start task is retried): nothing changes.

    Raises:
        ParameterError: A parameter value is missing or wrong.
    """
    values = parameter_values(flow_cls, given, user)
    refs = store.save_artifacts(values) if values else {}
    printable = {}
    for name, value in values.items():
        text = repr(value)
        printable[name] = text if len(text) <= 200 else text[:197] + "..."
    record = RunRecord(
        flow=store.flow_name,
        run_id=run_id,
        created_at=time.time(),
        user=user,
        tags=sorted(set(tags)),
        system_tags=sorted(set(system_tags)),
        parameters=refs,
        parameter_values=printable,
        code_sha=code_sha,
        flow_file=str(flow_file),
        environment_sha=store.record_environment(),
        catalog=catalog,
    )
    return store.claim_run(record, run_id)


def child_foreach_json(
    store: FlowDatastore, run_id: str, step: str, task_id: str, index: int
) -> str:
    """The ``--foreach-json`` of split ``index`` of the foreach started by task ``step/task_id``
    (its latest attempt): the parent's levels plus this split's, its element fixed by the
    parent's split index, as the runner gives a split.

    Raises:
        RunNotFound: The foreach task has no manifest.
        FlowRuntimeError: That task did not fan out, or has fewer splits than ``index + 1``.
    """
    import json

    from flowkit.datastore.manifest import ForeachFrame
    from flowkit.errors import FlowRuntimeError
    from flowkit.runtime.splits import read_splits

    parent = store.read_manifest(run_id, step, task_id)
    count = parent.foreach_count
    if count is None or not 0 <= index < count:
        raise FlowRuntimeError(
            f"task {parent.pathspec} has no foreach split {index} (it made {count or 0})",
            hint="redeploy the flow: the state machine does not match the flow's code",
        )
    var = parent.foreach_var or ""
    element = items = None
    if parent.foreach_splits is not None:
        element = read_splits(store, parent.foreach_splits)[index]
    else:
        ref = parent.artifacts.get(var)
        items = ref.sha if ref is not None else None
    level = ForeachFrame(parent.step, index, count, var, element, items)
    return json.dumps([frame.to_dict() for frame in [*parent.foreach_stack, level]])


def catch_failed_task(
    flow_cls: type, graph: FlowGraph, store: FlowDatastore, run_id: str, step: str, task_id: str
) -> bool:
    """Apply the step's ``@catch`` to the failed last attempt of ``step/task_id``, exactly as
    the runner does (the attempt's manifest becomes a success holding the exception).

    Returns:
        Whether the failure was caught (``False``: no ``@catch``, or stopped by the user).
    """
    from flowkit.decorators.resolve import resolve_step_decorators
    from flowkit.runtime.policy import FailurePolicy
    from flowkit.runtime.spec import TaskSpec
    from flowkit.runtime.task import RunContext

    manifest = store.read_manifest(run_id, step, task_id)
    record = store.run_record(run_id)
    decorators = resolve_step_decorators(flow_cls, graph)
    ctx = RunContext(flow_cls, graph, store, run_id, decorators=decorators, catalog=record.catalog)
    inputs = None
    if not graph[step].is_join and manifest.parents:
        run, parent_step, parent_task = manifest.parents[0].split("/")[-3:]
        inputs = store.read_manifest(run, parent_step, parent_task)
    spec = TaskSpec(
        step,
        task_id,
        manifest.attempt,
        [],
        list(manifest.foreach_stack),
        dict(record.parameters),
        inputs=inputs,
        iteration=manifest.iteration,
    )
    # the task is on its last attempt: the policy can only catch (or give up)
    retries = max((d.retries() for d in decorators.get(step, [])), default=0)
    if spec.attempt < retries:
        return False
    decision = FailurePolicy(ctx).decide(spec, manifest)
    if decision.caught is None:
        return False
    store.write_manifest(decision.caught)
    return True
