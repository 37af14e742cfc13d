"""Run one task inside the current process: inputs in, step call, outputs stored, manifest out.

This is what a forked worker (or the fresh-interpreter ``step`` command) executes. It returns the
task's manifest; whoever launched the task writes it to the datastore as the commit point, after
the logs.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flowkit.catalog.session import TaskCatalog, origin_lineage
from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import (
    ArtifactRef,
    CatalogChoice,
    Failure,
    FailureKind,
    TaskManifest,
)
from flowkit.decorators.base import StepDecorator
from flowkit.decorators.project import ProjectInfo
from flowkit.dsl.current import current
from flowkit.dsl.flowspec import FlowSpec
from flowkit.dsl.inputs import Inputs
from flowkit.dsl.state import PARALLEL_VAR, TaskState, Transition
from flowkit.errors import (
    DatastoreWriteError,
    FlowkitError,
    FlowRuntimeError,
    RunNotFound,
    UnpicklableArtifact,
)
from flowkit.graph.model import FlowGraph
from flowkit.modelreg.stepreg import StepRegistry
from flowkit.own_code import is_own_file
from flowkit.runtime.spec import ParentRef, TaskSpec
from flowkit.runtime.splits import elements_of, store_splits

# A join on S3 reads every parent's manifest: enough requests in flight to hide the latency.
_PARENT_READ_THREADS = 16
# A join on a remote store reads its inputs' artifacts of a name together (see _reading_ahead):
# those up to this size, up to this many bytes in all.
_READ_AHEAD_MAX = 1 << 20
_READ_AHEAD_BUDGET = 64 << 20


class RunContext:
    """What every task of a run shares: the flow, its graph, the datastore and run facts."""

    def __init__(
        self,
        flow_cls: type[FlowSpec],
        graph: FlowGraph,
        store: FlowDatastore,
        run_id: str,
        *,
        user: str = "",
        tags: tuple[str, ...] = (),
        origin_run_id: str | None = None,
        flow_file: Path | None = None,
        decorators: dict[str, list[StepDecorator]] | None = None,
        with_specs: tuple[str, ...] = (),
        system_tags: tuple[str, ...] = (),
        catalog: CatalogChoice | None = None,
    ) -> None:
        self.flow_cls = flow_cls
        self.flow_file = flow_file
        self.decorators = decorators or {}
        self.with_specs = with_specs
        self.graph = graph
        self.store = store
        self.run_id = run_id
        self.user = user
        self.tags = tags
        self.system_tags = system_tags  # the run record's: @project's name and branch
        self.origin_run_id = origin_run_id
        self.catalog = catalog  # the run record's: every task's self.catalog reads it

    @property
    def flow_name(self) -> str:
        """The flow's name."""
        return self.graph.name


def _project_fields(ctx: RunContext) -> dict[str, Any]:
    """``current.project_name`` and its siblings, from the run's system tags (``@project``)."""
    project = ProjectInfo.from_tags(ctx.system_tags, ctx.flow_name)
    return project.current_fields() if project is not None else {}


def _make_view(ctx: RunContext, state: TaskState) -> FlowSpec:
    flow = ctx.flow_cls(use_cli=False)
    object.__setattr__(flow, "_fk_state", state)
    return flow


def _loader(ctx: RunContext, referrers: list[TaskManifest]) -> Callable[[ArtifactRef], Any]:
    """A loader whose errors can name the artifact and who produced it.

    ``referrers`` is the list of parent manifests, filled in by the caller once they are read.
    """

    def load(ref: ArtifactRef) -> Any:
        return ctx.store.load_artifact(ref, referrers=referrers, run_id=ctx.run_id)

    return load


def _reading_ahead(
    ctx: RunContext, parents: list[TaskManifest], load: Callable[[ArtifactRef], Any]
) -> Callable[[ArtifactRef], Any]:
    """``load``, reading every parent's artifact of a name at once when one of them is loaded.

    A join on a remote store usually reads the same artifact of each of its inputs in turn
    (``sum(i.x for i in inputs)``); one request at a time, a 500-way join would wait for 500
    round trips. The values read ahead are small ones, within :data:`_READ_AHEAD_BUDGET`.
    """
    by_sha: dict[str, str] = {}
    by_name: dict[str, list[ArtifactRef]] = {}
    for parent in parents:
        for name, ref in parent.artifacts.items():
            by_sha.setdefault(ref.sha, name)
            by_name.setdefault(name, []).append(ref)
    done: set[str] = set()
    budget = [_READ_AHEAD_BUDGET]  # bytes still to be read ahead, over every name

    def load_ahead(ref: ArtifactRef) -> Any:
        if isinstance(ref, str):  # a foreach element's blob name (foreach_stack in a join)
            return load(ref)
        name = by_sha.get(ref.sha)
        if name is not None and name not in done:
            done.add(name)
            small = []
            for sibling in by_name[name]:
                if sibling.size <= min(_READ_AHEAD_MAX, budget[0]):
                    small.append(sibling.sha)
                    budget[0] -= sibling.size
            if len(small) > 1:
                ctx.store.content.preload(small, _READ_AHEAD_MAX)
        return load(ref)

    return load_ahead


def parent_manifests(store: FlowDatastore, parents: list[ParentRef]) -> list[TaskManifest]:
    """Read the manifests of ``parents`` (concurrently on remote stores: a join may have many).

    Raises:
        RunNotFound: A parent task has no manifest.
    """

    def read(ref: ParentRef) -> TaskManifest:
        try:
            return store.read_manifest(ref.run_id, ref.step, ref.task_id, ref.attempt)
        except RunNotFound as exc:
            raise RunNotFound(
                f"parent task {ref.run_id}/{ref.step}/{ref.task_id} has no manifest "
                f"({exc.message})",
                hint="run the parent step first, or resume the run",
            ) from exc

    if store.storage.concurrency < 2 or len(parents) < 2:
        return [read(ref) for ref in parents]
    with ThreadPoolExecutor(_PARENT_READ_THREADS) as pool:
        return list(pool.map(read, parents))


def _build_flow(ctx: RunContext, spec: TaskSpec) -> tuple[FlowSpec, Inputs | None]:
    node = ctx.graph[spec.step]
    referrers: list[TaskManifest] = []
    load = _loader(ctx, referrers)
    params = frozenset(spec.params)
    if not node.is_join:
        refs: dict[str, Any] = dict(spec.params)
        parent = spec.inputs
        if parent is None and spec.parents:
            parent = parent_manifests(ctx.store, spec.parents[:1])[0]
        if parent is not None:
            refs.update(parent.artifacts)
            referrers.append(parent)
        state = TaskState(ctx.flow_name, spec.step, refs, load, params, list(spec.foreach))
        return _make_view(ctx, state), None
    views = []
    # A join reads its parents here, in the task's process: the runner keeps only identities.
    referrers += parent_manifests(ctx.store, spec.parents)
    if ctx.store.storage.concurrency > 1 and len(referrers) > 1:
        load = _reading_ahead(ctx, referrers, load)
    for parent in referrers:
        branch_refs = dict(spec.params)
        branch_refs.update(parent.artifacts)
        view_state = TaskState(
            ctx.flow_name,
            parent.step,
            branch_refs,
            load,
            params,
            list(parent.foreach_stack),
            read_only=True,
        )
        views.append(_make_view(ctx, view_state))
    state = TaskState(
        ctx.flow_name, spec.step, dict(spec.params), load, params, list(spec.foreach), is_join=True
    )
    return _make_view(ctx, state), Inputs(views)


def _check_transition(ctx: RunContext, step: str, transition: Transition | None) -> None:
    node = ctx.graph[step]
    if node.kind == "end":
        if transition is not None:
            raise FlowRuntimeError(
                "the end step called self.next",
                hint="remove the call",
                location=transition.location,
            )
        return
    if transition is None:
        raise FlowRuntimeError(
            f"step {step!r} finished without calling self.next",
            hint="make self.next(...) the last statement and make sure no return skips it",
            location=node.location,
        )
    expected = node.out if node.kind != "switch" else None
    if expected is not None and transition.targets != expected:
        raise FlowRuntimeError(
            f"step {step!r} called self.next({', '.join(transition.targets)}) but its last "
            f"statement names {', '.join(expected)}",
            hint="call self.next exactly once, as the last statement of the step",
            location=transition.location,
        )
    if node.kind == "switch" and transition.condition is None:
        raise FlowRuntimeError(
            f"step {step!r} must take a branch of its switch",
            hint="call self.next({...}, condition=...) as written in the step",
            location=transition.location,
        )


_STR_FAILED = "<exception str() failed"


def _user_traceback(exc: BaseException) -> str:
    """The traceback without flowkit's own frames: the user's code is what matters."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not is_own_file(f.filename)]
    text = "".join(traceback.format_list(frames))
    message = _safe_str(exc)
    if message.startswith(_STR_FAILED):  # the user's __str__ raised: say how, keep the type
        detail = f"{type(exc).__qualname__}: {message}\n"
    else:
        detail = "".join(traceback.format_exception_only(type(exc), exc))
    return f"Traceback (most recent call last):\n{text}{detail}" if frames else detail


def new_manifest(
    ctx: RunContext, spec: TaskSpec, started: float, failure: Failure | None = None
) -> TaskManifest:
    """A failed manifest for ``spec``, to be completed (or kept as is when the task dies)."""
    return TaskManifest(
        flow=ctx.flow_name,
        run_id=ctx.run_id,
        step=spec.step,
        task_id=spec.task_id,
        attempt=spec.attempt,
        status="failed",
        started_at=started,
        finished_at=started,
        artifacts={},
        foreach_stack=list(spec.foreach),
        iteration=spec.iteration,
        parents=spec.parent_pathspecs,
        failure=failure,
    )


def execute_task(ctx: RunContext, spec: TaskSpec) -> TaskManifest:
    """Run ``spec`` in this process and return its (unwritten) manifest.

    A failure of the user's code is reported in the manifest (status ``failed``) with the user's
    traceback, which is also printed to stderr so it lands in the task's log.
    """
    started = time.time()
    current._bind(
        flow_name=ctx.flow_name,
        run_id=ctx.run_id,
        step_name=spec.step,
        task_id=spec.task_id,
        retry_count=spec.attempt,
        origin_run_id=ctx.origin_run_id,
        username=ctx.user,
        parameter_names=sorted(spec.params),
        tags=list(ctx.tags),
        datastore_root=ctx.store.storage.root,
        registry=StepRegistry(
            ctx.store,
            f"{ctx.flow_name}/{ctx.run_id}/{spec.step}/{spec.task_id}",
            spec.parent_pathspecs,
            ctx.user,
        ),
        **_project_fields(ctx),
    )
    manifest = new_manifest(ctx, spec, started)
    decorators = ctx.decorators.get(spec.step, [])
    if decorators:
        manifest.decorators = [d.spec() for d in decorators]
        for deco in decorators:
            if deco.name == "resources":
                manifest.resources = dict(deco.attributes)
    for deco in decorators:
        os.environ.update(deco.task_environment())  # this process runs only this task
    catalog = task_catalog(ctx, spec)
    try:
        flow, state = call_step(ctx, spec, catalog)
        manifest.artifacts = _store_outputs(ctx, flow, state)
        if state.transition is not None:
            manifest.next_steps = list(state.transition.targets)
            manifest.foreach_count = state.transition.num_splits
            if state.transition.num_parallel is not None:
                manifest.foreach_var = PARALLEL_VAR  # a gang: its nodes have no element
            elif state.transition.foreach:
                manifest.foreach_var = state.transition.foreach
                manifest.foreach_splits = _fix_splits(ctx, flow, spec.step, state.transition)
        manifest.status = "succeeded"
    except FlowkitError as exc:
        manifest.failure = _describe(exc, exc.format_message())
        print(f"flowkit: {exc.format_message()}", file=sys.stderr)
    except BaseException as exc:  # the user's code may raise anything, even SystemExit
        text = _user_traceback(exc)
        manifest.failure = _describe(exc, text)
        sys.stderr.write(text)
    finally:
        _record_plugin_data(manifest, decorators)
        manifest.lineage = list(catalog.lineage)  # what was read before a failure counts too
        catalog.close()
        manifest.finished_at = time.time()
        sys.stdout.flush()
        sys.stderr.flush()
    return manifest


def task_catalog(ctx: RunContext, spec: TaskSpec) -> TaskCatalog:
    """``self.catalog`` for the task: the run's recorded catalog and profile (else the
    settings'); in a resumed run it reads the origin's snapshots."""
    origin = None
    if ctx.origin_run_id is not None:
        origin = origin_lineage(
            ctx.store, ctx.origin_run_id, spec.step, list(spec.foreach), spec.iteration
        )
    flow_dir = ctx.flow_file.parent if ctx.flow_file is not None else None
    return TaskCatalog(flow_dir, ctx.store, origin, ctx.catalog)


def call_step(
    ctx: RunContext, spec: TaskSpec, catalog: TaskCatalog | None = None
) -> tuple[FlowSpec, TaskState]:
    """Build the task's flow object from its inputs, call its step (with its decorators) and
    check the transition it took. Nothing is stored; whatever the step raises propagates.

    ``catalog`` is bound as ``self.catalog`` (default: a fresh one for the task).

    Returns:
        The flow object (the step's new artifacts are in its ``__dict__``) and its task state
        (``state.transition`` is what ``self.next`` decided).
    """
    flow, inputs = _build_flow(ctx, spec)
    object.__setattr__(flow, "_fk_catalog", catalog or task_catalog(ctx, spec))
    _call_step(flow, spec.step, inputs, ctx.decorators.get(spec.step, []))
    state: TaskState = flow.__dict__["_fk_state"]
    _check_transition(ctx, spec.step, state.transition)
    return flow, state


def _call_step(
    flow: FlowSpec, step: str, inputs: Inputs | None, decorators: list[StepDecorator]
) -> None:
    method = getattr(flow, step)

    def call() -> None:
        if inputs is not None:
            method(inputs)
        else:
            method()

    for deco in decorators:
        deco.task_pre_step(flow)
    for deco in reversed(decorators):  # the top decorator is the outermost wrapper
        call = deco.task_decorate(call)
    try:
        call()
    except Exception as exc:
        if not any(deco.task_exception(flow, exc) for deco in decorators):
            raise
    for deco in decorators:
        deco.task_post_step(flow)


def _record_plugin_data(manifest: TaskManifest, decorators: list[StepDecorator]) -> None:
    """Keep what each decorator asks to record, under its own name, if it is JSON."""
    for deco in decorators:
        try:
            data = deco.task_record()
            if data:
                json.dumps(data)
        except Exception as exc:  # a plugin's bug must not lose the task's own result
            why = f"@{deco.name}: task_record() failed or returned data that is not JSON: {exc}"
            print(f"flowkit: {why}; nothing of it is recorded", file=sys.stderr)
            continue
        if data:
            manifest.plugin_data[deco.name] = dict(data)


def _describe(exc: BaseException, text: str) -> Failure:
    return Failure(failure_kind(exc), type(exc).__name__, _safe_str(exc), text)


def failure_kind(exc: BaseException) -> FailureKind:
    """The kind of failure an exception raised inside a task is."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, DatastoreWriteError):
        return "storage"
    if isinstance(exc, UnpicklableArtifact):
        return "unpicklable"
    if isinstance(exc, FlowkitError):
        return "flow"
    return "exception"


def _safe_str(exc: BaseException) -> str:
    """``str(exc)``, or a placeholder when the user's ``__str__`` itself fails.

    The failure is the user's, and their exception's type must survive it: it is what the
    user needs to see, not a crash of the task machinery.
    """
    try:
        return str(exc)
    except Exception as inner:  # any error of the user's __str__
        try:
            reason = f"{type(inner).__name__}: {inner}"
        except Exception:
            reason = type(inner).__name__
        return f"{_STR_FAILED}: {reason}>"


def _fix_splits(ctx: RunContext, flow: FlowSpec, step: str, transition: Transition) -> str:
    """Iterate the foreach collection once, here, and store each split's element."""
    var = str(transition.foreach)
    count = int(transition.num_splits or 0)
    elements = elements_of(getattr(flow, var), count, f"step {step!r}")
    return store_splits(ctx.store, elements, var)


def _store_outputs(ctx: RunContext, flow: FlowSpec, state: TaskState) -> dict[str, ArtifactRef]:
    values = {k: v for k, v in flow.__dict__.items() if not k.startswith("_")}
    refs: dict[str, ArtifactRef] = {k: r for k, r in state.refs.items() if k not in values}
    if values:
        refs.update(ctx.store.save_artifacts(values))
    return refs
