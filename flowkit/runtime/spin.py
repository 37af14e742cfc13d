"""Spin: run one step again, with the current code, against the inputs a past task had.

The past task is the first task of the step in the latest run that reached it, or the one a
pathspec names. The new task gets exactly what that task got: its parents' artifacts (all of
them for a join), its foreach split element and index, and the run's parameters. It runs once,
in this process (``python flow.py spin`` is itself a fresh interpreter), with the step's
task-level decorators (not the runner's ``@retry``/``@catch``/``@timeout`` policy); nothing of
it is written to the flow's datastore (see :mod:`flowkit.datastore.spinarea`). No run record,
code snapshot or heartbeat is made unless the spin is persisted, which is what makes it take a
fraction of a second.
"""

from __future__ import annotations

import importlib.util
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import ArtifactRef, RunRecord, TaskManifest
from flowkit.datastore.spinarea import SpinDatastore
from flowkit.datastore.storage import ByteStorage
from flowkit.errors import FlowkitError, PathspecError, RunNotFound, did_you_mean
from flowkit.graph.model import FlowGraph
from flowkit.runtime.spec import ParentRef, TaskSpec
from flowkit.runtime.task import RunContext

#: The run id a spin that is not persisted runs under (``current.run_id``).
EPHEMERAL_RUN_ID = "spin"


@dataclass
class SpinResult:
    """What a spin did.

    Attributes:
        source: Pathspec of the past task whose inputs the step got.
        manifest: The spun task's manifest (status, artifacts, failure).
        store: Where its outputs are (read artifacts through it before it is discarded).
        persisted: Whether the outputs are kept in the spin folder.
        seconds: Wall time of the task itself.
        changed: Names of the artifacts the step set or changed (not merely inherited).
    """

    source: str
    manifest: TaskManifest
    store: FlowDatastore
    persisted: bool
    seconds: float
    changed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the step succeeded."""
        return self.manifest.status == "succeeded"


def find_source_task(
    store: FlowDatastore, graph: FlowGraph, step: str, pathspec: str | None = None
) -> TaskManifest:
    """The past task whose inputs a spin of ``step`` reuses.

    Args:
        store: The flow's datastore.
        graph: The flow's graph (the current code's).
        step: The step to spin.
        pathspec: ``Flow/run/step/task`` (or ``run/step/task``) of a past task of ``step``;
            ``None`` takes the first task of ``step`` in the latest run that has one.

    Raises:
        FlowkitError: ``step`` is not a step of the flow.
        PathspecError: ``pathspec`` is malformed or names another step or flow.
        RunNotFound: The flow has no run, no run reached ``step``, or the task does not exist.
    """
    if step not in graph:
        raise FlowkitError(
            f"{graph.name} has no step {step!r}" + did_you_mean(step, graph.steps),
            hint=f"steps: {', '.join(graph.steps)}",
        )
    if pathspec is not None:
        return _named_task(store, step, pathspec)
    run_ids = store.run_ids()
    if not run_ids:
        raise RunNotFound(
            f"{graph.name} has no past run in {store.storage.root}: no inputs for {step!r}",
            hint="run the flow once first (python FLOW.py run), then spin the step",
        )
    for run_id in reversed(run_ids):  # newest first
        tasks = store.tasks(run_id, step)
        if tasks:
            return _first_task(store, run_id, step, tasks)
    raise RunNotFound(
        f"no run of {graph.name} ran step {step!r} yet (runs looked at: "
        f"{', '.join(run_ids[-5:])}{', ...' if len(run_ids) > 5 else ''})",
        hint="run the flow until it reaches the step (python FLOW.py run), then spin it",
    )


def _named_task(store: FlowDatastore, step: str, pathspec: str) -> TaskManifest:
    parts = pathspec.strip("/").split("/")
    if len(parts) == 4 and parts[0] != store.flow_name:
        raise PathspecError(
            f"{pathspec} is a task of the flow {parts[0]}, not of {store.flow_name}",
            hint=f"pass {store.flow_name}/RUN/{step}/TASK",
        )
    if len(parts) not in (3, 4) or not all(parts):
        raise PathspecError(
            f"--pathspec {pathspec!r} is not a task pathspec",
            hint=f"pass {store.flow_name}/RUN/{step}/TASK (list them with the client: "
            f"Run('{store.flow_name}/RUN')['{step}'])",
        )
    run_id, task_step, task_id = parts[-3:]
    if task_step != step:
        raise PathspecError(
            f"{pathspec} is a task of step {task_step!r}, not of {step!r}",
            hint=f"spin {task_step}, or pass a task of {step}",
        )
    return store.read_manifest(run_id, step, task_id)


def _first_task(store: FlowDatastore, run_id: str, step: str, tasks: list[str]) -> TaskManifest:
    """The first split of the step's tasks in the run (a foreach's index 0, deepest last).

    Tasks are read in id order, which is launch order, so split 0 is nearly always the first
    read: a 100,000-way foreach costs one manifest read, not 100,000.
    """
    manifests = []
    for task_id in tasks:
        try:
            manifest = store.read_manifest(run_id, step, task_id)
        except RunNotFound:  # a task that is running or died without a manifest
            continue
        if all(frame.index == 0 for frame in manifest.foreach_stack):
            return manifest
        manifests.append(manifest)
    if not manifests:
        raise RunNotFound(
            f"step {step!r} of run {store.flow_name}/{run_id} has no finished task",
            hint="wait for the run to finish it, or pass --pathspec of another run's task",
        )
    return min(manifests, key=lambda m: [f.index for f in m.foreach_stack])


def load_artifacts_module(path: str | Path) -> dict[str, Any]:
    """The ``ARTIFACTS`` dict of a Python file: input artifacts a spin overrides.

    Raises:
        FlowkitError: The file cannot be imported or defines no ``ARTIFACTS`` dict.
    """
    file = Path(path)
    if not file.is_file():
        raise FlowkitError(
            f"no artifacts module {path}", hint="pass a .py file that defines ARTIFACTS = {...}"
        )
    name = f"flowkit_spin_artifacts_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise FlowkitError(f"cannot import {path}", hint="pass a .py file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    artifacts = getattr(module, "ARTIFACTS", None)
    if not isinstance(artifacts, dict) or not all(isinstance(k, str) for k in artifacts):
        raise FlowkitError(
            f"{path} defines no ARTIFACTS dict",
            hint="define ARTIFACTS = {'name': value, ...} at the top level of the file",
        )
    return artifacts


def spin_step(
    ctx: RunContext,
    source: TaskManifest,
    *,
    spin_root: str | None = None,
    overrides: dict[str, Any] | None = None,
    run_task: Callable[[RunContext, TaskSpec], TaskManifest] | None = None,
) -> SpinResult:
    """Run ``source``'s step with the current code against ``source``'s inputs.

    Args:
        ctx: The flow, its graph and decorators, and the flow's real datastore (``ctx.store``,
            only read); ``ctx.run_id`` is replaced.
        source: The past task (see :func:`find_source_task`).
        spin_root: Where to keep the outputs (a ``.flowkit_spin`` folder); ``None`` keeps them
            in memory only.
        overrides: Input artifacts to replace (name -> value).
        run_task: ``(ctx, spec) -> manifest``; the default runs the task in this process
            without committing it (a persisted spin passes the committing entry point).

    Returns:
        The :class:`SpinResult`; a failure of the step is in its manifest, not raised.

    Raises:
        FlowkitError: An override is not an input of the step, or the spin area cannot be
            written.
    """
    from flowkit.runtime.task import execute_task

    origin = ctx.store
    record = origin.run_record(source.run_id)
    persisted = spin_root is not None
    storage = ByteStorage(spin_root or f"memory://flowkit-spin-{uuid.uuid4().hex}")
    params = dict(record.parameters)
    shown = dict(record.parameter_values)
    spin_store = SpinDatastore(storage, origin)
    if overrides:
        refs = spin_store.save_artifacts(overrides)
        _check_overrides(source, refs, params)
        params.update({k: r for k, r in refs.items() if k in params})
        shown.update({k: repr(v)[:80] for k, v in overrides.items() if k in params})
        spin_store.overrides = refs  # parents' manifests carry the parameters too
    run_id = EPHEMERAL_RUN_ID
    if persisted:
        spin_store.copy_blobs(params.values())
        run_id = spin_store.new_run(
            RunRecord(
                flow=origin.flow_name,
                run_id="",
                created_at=time.time(),
                user=ctx.user,
                parameters=params,
                parameter_values=shown,
                flow_file=str(ctx.flow_file or ""),
                summary={"spin_of": source.pathspec},
            )
        )
    spin_ctx = RunContext(
        ctx.flow_cls,
        ctx.graph,
        spin_store,
        run_id,
        user=ctx.user,
        flow_file=ctx.flow_file,
        decorators=ctx.decorators,
        with_specs=ctx.with_specs,
    )
    parents = [ParentRef(*_parent_parts(origin.flow_name, p)) for p in source.parents]
    spec = TaskSpec(source.step, source.task_id, 0, parents, list(source.foreach_stack), params)
    started = time.perf_counter()
    manifest = (run_task or execute_task)(spin_ctx, spec)
    seconds = time.perf_counter() - started
    if persisted:
        spin_store.finish_run(run_id, "succeeded" if manifest.status == "succeeded" else "failed")
    return SpinResult(
        source.pathspec,
        manifest,
        spin_store,
        persisted,
        seconds,
        _changed(spin_store, manifest, spec, params),
    )


def _parent_parts(flow: str, pathspec: str) -> tuple[str, str, str, str]:
    run_id, step, task_id = pathspec.split("/")[-3:]
    return flow, run_id, step, task_id


def _check_overrides(
    source: TaskManifest, refs: dict[str, ArtifactRef], params: dict[str, ArtifactRef]
) -> None:
    """Any name may be given to a step with parents (new inputs are fine); the first step has
    nothing but parameters to override."""
    if not source.parents:
        extra = [k for k in refs if k not in params]
        if extra:
            raise FlowkitError(
                f"step {source.step!r} is the first step: it has no input artifact "
                f"{extra[0]!r} to override (only the parameters "
                f"{', '.join(sorted(params)) or '(none)'})",
                hint="override artifacts of a later step, or change the parameter",
            )


def _changed(
    store: FlowDatastore, manifest: TaskManifest, spec: TaskSpec, params: dict[str, ArtifactRef]
) -> list[str]:
    """The artifacts the step set or changed, compared with what its only parent had."""
    if manifest.status != "succeeded":
        return []
    before: dict[str, ArtifactRef] = {}
    if len(spec.parents) == 1:
        p = spec.parents[0]
        before = store.read_manifest(p.run_id, p.step, p.task_id).artifacts
    return sorted(
        name
        for name, ref in manifest.artifacts.items()
        if name not in params and before.get(name) != ref
    )
