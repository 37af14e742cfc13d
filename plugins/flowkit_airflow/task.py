"""What an Airflow task runs: one flowkit task, from the code snapshot the DAG file pins.

``python -m flowkit_airflow.task --flow F --code SHA --flow-file flow.py --root ROOT
--run-id airflow-<id> --step STEP [--path 0-2] --attempt N [--params-json JSON]``

The snapshot is extracted to a fresh folder, the flow's graph is read from it, and the task's
inputs are found in the datastore, not passed by Airflow: task ids are deterministic
(:func:`task_id_for`: the step, then the foreach indexes leading to it, ``work-0-2``), so a
task reads its parents' manifests by name. That is also how a task learns it was *not* reached
(a switch chose another branch, its split never ran): it then exits with :data:`EXIT_SKIPPED`
and the Airflow task is marked skipped. The start task first claims the run under the id
``airflow-<dag run id>`` (every attempt may try; one writes), with the DAG run's parameters.
When an object started the run (``@trigger``), every task binds it as ``current.trigger``.

A step with ``@batch`` is not run here: it runs as an AWS Batch job that this task submits and
watches (:mod:`flowkit_airflow.dispatch`).

Exit codes: 0 the step succeeded, 1 it failed (its manifest says why), 2 the task could not be
set up (message on stderr), :data:`EXIT_SKIPPED` not reached.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import runpy
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowkit import IncludeFile
from flowkit.extend import (
    CatalogChoice,
    FailurePolicy,
    FlowDatastore,
    FlowGraph,
    FlowkitError,
    ForeachFrame,
    RunContext,
    RunNotFound,
    RunRecord,
    TaskManifest,
    TaskSpec,
    bind_trigger,
    flow_parameters,
    load_deployed_flow,
    load_graph,
    load_settings,
    open_flow_datastore,
    read_deployed_catalog,
    read_splits,
    resolve_step_decorators,
)
from flowkit_airflow.dispatch import BATCH, remote_executor, run_on_batch

EXIT_SKIPPED = 99
EXIT_SETUP = 2
#: Prefix of the flowkit run ids of runs made by Airflow.
RUN_PREFIX = "airflow-"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def flowkit_run_id(dag_run_id: str) -> str:
    """The flowkit run id of an Airflow DAG run: ``airflow-`` and the DAG run id, each character
    that cannot be in a datastore key or a file name (``:``, ``+``, ``/`` ...) made ``_``."""
    return RUN_PREFIX + _UNSAFE.sub("_", dag_run_id)


def parse_path(path: str) -> tuple[int, ...]:
    """``"0-2"`` -> ``(0, 2)``: the foreach indexes of a task, outermost first (``""``: none)."""
    return tuple(int(part) for part in path.split("-")) if path else ()


def format_path(indexes: tuple[int, ...]) -> str:
    """The inverse of :func:`parse_path`."""
    return "-".join(str(i) for i in indexes)


def task_id_for(step: str, path: str) -> str:
    """The deterministic task id of ``step`` at foreach indexes ``path``: ``step`` or
    ``step-0-2``, the same on every attempt and for every reader."""
    return f"{step}-{path}" if path else step


@dataclass
class TaskInputs:
    """Where a task that was reached takes its inputs from.

    Attributes:
        parents: ``run/step/task`` of each input task.
        frames: The foreach levels enclosing the task, outermost first.
        inputs: The manifest of the only parent of a step that is not a join.
    """

    parents: list[str]
    frames: list[ForeachFrame]
    inputs: TaskManifest | None = None


def _manifest(store: FlowDatastore, run_id: str, step: str, path: str) -> TaskManifest | None:
    """The latest attempt of ``step`` at ``path`` if it succeeded, else ``None``."""
    try:
        manifest = store.read_manifest(run_id, step, task_id_for(step, path))
    except RunNotFound:
        return None
    return manifest if manifest.status == "succeeded" else None


def _ref(run_id: str, manifest: TaskManifest) -> str:
    return f"{run_id}/{manifest.step}/{manifest.task_id}"


def _chosen_parent(
    store: FlowDatastore, graph: FlowGraph, run_id: str, step: str, path: str
) -> TaskManifest | None:
    """The parent of ``step`` at ``path`` that went on to ``step`` (a switch picks one)."""
    for parent in graph[step].parents:
        manifest = _manifest(store, run_id, parent, path)
        if manifest is not None and step in manifest.next_steps:
            return manifest
    return None


def task_inputs(
    store: FlowDatastore, graph: FlowGraph, run_id: str, step: str, path: str
) -> TaskInputs | None:
    """The inputs of ``step`` at ``path``, or ``None`` when the run did not reach that task.

    Raises:
        FlowkitError: A foreach's split index is missing or damaged.
    """
    node = graph[step]
    indexes = parse_path(path)
    if step == "start":
        return TaskInputs([], [])
    if node.is_join:
        split = graph[str(node.closes)]
        opened = _manifest(store, run_id, split.name, path)
        if opened is None:
            return None
        found: list[TaskManifest | None]
        if split.kind == "foreach":
            count = int(opened.foreach_count or 0)
            children = [format_path((*indexes, i)) for i in range(count)]
            # one input per split, from whichever last step of the body ran there
            found = [_chosen_parent(store, graph, run_id, step, child) for child in children]
        else:
            # one input per branch, in the order of the graph's parents
            branches = sorted(node.parents, key=lambda p: node.branch_of_parent.get(p, 0))
            found = [_manifest(store, run_id, parent, path) for parent in branches]
        if any(manifest is None for manifest in found):
            return None  # a branch did not finish (Airflow fails this task upstream)
        parents = [_ref(run_id, manifest) for manifest in found if manifest is not None]
        return TaskInputs(parents, list(opened.foreach_stack))
    foreach_parent = next((p for p in node.parents if graph[p].kind == "foreach"), None)
    if foreach_parent is not None and indexes:
        outer = format_path(indexes[:-1])
        split_manifest = _manifest(store, run_id, foreach_parent, outer)
        if split_manifest is None or step not in split_manifest.next_steps:
            return None
        index = indexes[-1]
        count = int(split_manifest.foreach_count or 0)
        element = None
        if split_manifest.foreach_splits is not None:
            element = read_splits(store, split_manifest.foreach_splits)[index]
        var = split_manifest.foreach_var or ""
        frame = ForeachFrame(foreach_parent, index, count, var, element)
        frames = [*split_manifest.foreach_stack, frame]
        return TaskInputs([_ref(run_id, split_manifest)], frames, split_manifest)
    chosen = _chosen_parent(store, graph, run_id, step, path)
    if chosen is None:
        return None
    return TaskInputs([_ref(run_id, chosen)], list(chosen.foreach_stack), chosen)


def child_paths(store: FlowDatastore, run_id: str, step: str, paths: list[str]) -> list[str]:
    """The foreach indexes of the children of foreach ``step`` run at each of ``paths``.

    A path where the step did not run (a switch skipped it) has no children.
    """
    out: list[str] = []
    for path in paths:
        manifest = _manifest(store, run_id, step, path)
        if manifest is None:
            continue
        count = int(manifest.foreach_count or 0)
        out.extend(format_path((*parse_path(path), i)) for i in range(count))
    return out


def parameter_values(flow_cls: type, given: dict[str, Any], user: str) -> dict[str, Any]:
    """The run's parameter values from the DAG run's params (defaults for the missing ones).

    Raises:
        FlowkitError: A required parameter is missing or a value has the wrong type.
    """
    values: dict[str, Any] = {}
    for attr, param in flow_parameters(flow_cls).items():
        raw = given.get(param.name)
        if raw is None:
            raw = param.resolve_default(flow_cls.__name__, user)
            if raw is None and param.required:
                raise FlowkitError(
                    f"parameter {param.name!r} is required",
                    hint=f"trigger the DAG with the param {param.name!r} set",
                )
        if isinstance(param, IncludeFile) and raw is not None:
            raise FlowkitError(
                f"IncludeFile {param.name!r} cannot be read on an Airflow worker",
                hint="pass the file's content in a str Parameter instead",
            )
        value = param.convert(raw)
        values[attr] = param.load_value(value)
    return values


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def claim_run(
    store: FlowDatastore,
    run_id: str,
    flow_cls: type,
    code_sha: str,
    flow_file: str,
    given: dict[str, Any],
    system_tags: list[str],
    catalog: CatalogChoice | None = None,
) -> bool:
    """Create the run's start record (parameters, code, the deployed data catalog) unless an
    earlier attempt did."""
    try:
        store.run_record(run_id)
        return False
    except RunNotFound:
        pass
    user = load_settings().user
    values = parameter_values(flow_cls, given, user)
    record = RunRecord(
        flow=flow_cls.__name__,
        run_id="",
        created_at=time.time(),
        user=user,
        tags=[],
        system_tags=sorted(set(system_tags)),
        parameters=store.save_artifacts(values) if values else {},
        parameter_values={k: _short(v) for k, v in values.items()},
        code_sha=code_sha,
        flow_file=flow_file,
        environment_sha=store.record_environment(),
        catalog=catalog,
    )
    return store.claim_run(record, run_id)


def finish_run(store: FlowDatastore, run_id: str) -> str:
    """Write the run's end record: ``succeeded`` when its end task succeeded, else ``failed``.

    Returns:
        The status written, or ``""`` when the run was never started (its start task failed
        before claiming it).
    """
    try:
        store.run_record(run_id)
    except RunNotFound:
        return ""
    status = "succeeded" if _manifest(store, run_id, "end", "") is not None else "failed"
    store.finish_run(run_id, status)  # type: ignore[arg-type]
    return status


def catch_failure(
    store: FlowDatastore,
    flow_cls: type,
    graph: FlowGraph,
    run_id: str,
    step: str,
    task_id: str,
    attempt: int,
    inputs: TaskInputs,
    with_specs: tuple[str, ...] = (),
) -> bool:
    """Apply ``@catch`` to a failed attempt that Airflow will not retry, as the runner does.

    Returns:
        ``True`` when the failure was caught: the attempt's manifest now says it succeeded,
        with the exception in the decorator's ``var``, and the flow goes on.
    """
    decorators = resolve_step_decorators(flow_cls, graph, with_specs)
    mine = decorators.get(step, [])
    if not any(d.catch_var() for d in mine):
        return False
    if attempt < max((d.retries() for d in mine), default=0):
        return False  # Airflow retries it first
    record = store.run_record(run_id)
    failed = store.read_manifest(run_id, step, task_id, attempt)
    ctx = RunContext(
        flow_cls,
        graph,
        store,
        run_id,
        user=record.user,
        decorators=decorators,
        catalog=record.catalog,
    )
    spec = TaskSpec(
        step, task_id, attempt, [], inputs.frames, dict(record.parameters), inputs=inputs.inputs
    )
    caught = FailurePolicy(ctx).decide(spec, failed).caught
    if caught is None:
        return False  # stopped by a person: never caught
    store.write_manifest(caught)
    print(f"flowkit airflow: @catch stored the failure of {step}/{task_id} in {caught.caught}")
    return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m flowkit_airflow.task",
        description="Run one flowkit task of an Airflow DAG run from its code snapshot.",
    )
    parser.add_argument("--flow", required=True, help="flow name, e.g. TrainFlow")
    parser.add_argument("--code", required=True, help="hash of the code snapshot")
    parser.add_argument("--flow-file", required=True, help="flow file inside the snapshot")
    parser.add_argument("--root", required=True, help="datastore root")
    parser.add_argument("--run-id", required=True, help="flowkit run id (airflow-...)")
    parser.add_argument("--step", required=True)
    parser.add_argument("--path", default="", help="foreach indexes, e.g. 0-2")
    parser.add_argument("--attempt", type=int, default=0)
    parser.add_argument("--params-json", default="{}", help="the DAG run's params (start)")
    parser.add_argument("--trigger-json", default="", help="the object that started the run")
    parser.add_argument("--system-tag", action="append", default=[], help="e.g. project:x")
    parser.add_argument("--with", dest="with_specs", action="append", default=[])
    parser.add_argument("--catalog-record", default=None, help="the deployed catalog (start)")
    return parser


def _load_run(pathspec: str) -> Any:
    import flowkit

    return flowkit.Run(pathspec)


def _terminated(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the task; return the exit code (see the module's docstring)."""
    args = _parser().parse_args(argv)
    # Airflow stops a task (its execution_timeout, a kill from the UI) with SIGTERM: exit
    # through the ``finally`` below, which removes the extracted code
    signal.signal(signal.SIGTERM, _terminated)
    workdir = Path(tempfile.mkdtemp(prefix="flowkit-airflow-"))
    started_in = os.getcwd()
    try:
        try:
            settings = load_settings()
            store = open_flow_datastore(args.root, args.flow, settings)
            flow_cls = load_deployed_flow(
                store, args.code, args.flow_file, args.flow, workdir, settings
            )
            flow_file = workdir / args.flow_file
            graph = load_graph(flow_cls)
            if args.step == "start":
                given = json.loads(args.params_json)
                catalog = None
                if args.catalog_record:
                    catalog = read_deployed_catalog(store, args.catalog_record)
                claim_run(
                    store,
                    args.run_id,
                    flow_cls,
                    args.code,
                    args.flow_file,
                    given,
                    args.system_tag,
                    catalog,
                )
            inputs = task_inputs(store, graph, args.run_id, args.step, args.path)
        except (FlowkitError, OSError, ValueError, KeyError, IndexError) as exc:
            print(f"flowkit airflow: cannot start the task: {exc}", file=sys.stderr, flush=True)
            return EXIT_SETUP
        task_id = task_id_for(args.step, args.path)
        if inputs is None:
            print(f"flowkit airflow: {args.step}/{task_id} was not reached in this run", flush=True)
            return EXIT_SKIPPED
        step_args = ["step", args.step, "--run-id", args.run_id, "--task-id", task_id]
        step_args += ["--attempt", str(args.attempt)]
        for parent in inputs.parents:
            step_args += ["--parent", parent]
        if inputs.frames:
            step_args += ["--foreach-json", json.dumps([f.to_dict() for f in inputs.frames])]
        for spec in args.with_specs:
            step_args += ["--with", spec]
        if args.trigger_json:
            bind_trigger(json.loads(args.trigger_json), _load_run)
        os.environ["FLOWKIT_DATASTORE_ROOT"] = args.root
        os.environ["FLOWKIT_TASK_ID"] = task_id
        print(f"flowkit airflow: task {args.flow}/{args.run_id}/{args.step}/{task_id}", flush=True)
        decorators = resolve_step_decorators(flow_cls, graph, tuple(args.with_specs))
        code = 0
        if remote_executor(decorators.get(args.step, [])) == BATCH:
            try:
                manifest = run_on_batch(
                    store,
                    flow_cls,
                    graph,
                    decorators,
                    run_id=args.run_id,
                    step=args.step,
                    task_id=task_id,
                    attempt=args.attempt,
                    parents=inputs.parents,
                    frames=inputs.frames,
                    inputs=inputs.inputs,
                    flow_file=args.flow_file,
                    with_specs=tuple(args.with_specs),
                )
            except FlowkitError as exc:
                print(f"flowkit airflow: cannot run the task on AWS Batch: {exc}", file=sys.stderr)
                return EXIT_SETUP
            code = 0 if manifest.status == "succeeded" else 1
        else:
            sys.argv = [str(flow_file), *step_args]
            try:
                runpy.run_path(str(flow_file), run_name="__main__")
            except SystemExit as done:  # the flow's CLI ends with sys.exit(code)
                code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if code == 1:
            caught = catch_failure(
                store,
                flow_cls,
                graph,
                args.run_id,
                args.step,
                task_id,
                args.attempt,
                inputs,
                tuple(args.with_specs),
            )
            code = 0 if caught else code
        return code
    finally:
        os.chdir(started_in)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
