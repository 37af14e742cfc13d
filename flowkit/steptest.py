"""Unit-test one step: ``run_step(MyFlow, "train", inputs={...}, params={...})``.

The step runs in this process (so pytest shows its exception and its ``print`` output, and
breakpoints work), against a datastore in memory that is discarded afterwards: its inputs and
outputs go through the same serialization as in a real run, so an artifact that could not be
stored fails here too. The step's transition (``self.next``) is checked as in a run and
returned. Step decorators (``@retry``, ``@catch``, ``@timeout``, ``@environment``, remote
executors) are not applied: the step function itself is under test.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from flowkit.errors import FlowkitError, ParameterError, did_you_mean

if TYPE_CHECKING:
    from flowkit.dsl.flowspec import FlowSpec

#: The run id a step under test sees in ``current.run_id``.
TEST_RUN_ID = "steptest"


@dataclass
class StepResult:
    """What a step did.

    Attributes:
        step: The step's name.
        artifacts: The artifacts the step set, changed or merged (name -> value, as a later
            step would load them); inherited ones it left alone are not here, but readable
            on ``flow``.
        next: The steps ``self.next`` named, in order (``[]`` after ``end``); for a switch, the
            branch taken.
        foreach: The artifact a foreach step fans out over, else ``None``.
        splits: The foreach's elements in split order (what each child gets as ``self.input``).
        condition: For a switch step, the artifact whose value chose the branch.
        stdout: What the step printed.
        stderr: What the step wrote to standard error.
        flow: The flow object after the step (inherited artifacts are readable on it too).
    """

    step: str
    artifacts: dict[str, Any]
    next: list[str]
    foreach: str | None = None
    splits: list[Any] = field(default_factory=list)
    condition: str | None = None
    stdout: str = ""
    stderr: str = ""
    flow: Any = None

    def __getitem__(self, name: str) -> Any:
        return self.artifacts[name]


def load_flow_class(flow_file: str | Path) -> type:
    """Import the flow class of a flow file (its ``__main__`` block does not run).

    Raises:
        FlowkitError: The file defines no flow class.
    """
    from flowkit.dsl.flowspec import FlowSpec

    path = Path(flow_file).resolve()
    name = f"flowkit_steptest_{path.stem}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FlowkitError(f"cannot import {flow_file}", hint="pass the path of a .py flow file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the graph parser reads the class's source through it
    spec.loader.exec_module(module)
    classes = [
        v
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, FlowSpec) and v.__module__ == name
    ]
    if not classes:
        raise FlowkitError(f"{flow_file} defines no flow class", hint="pass a flow file")
    return classes[-1]


def _param_values(flow_cls: type, given: Mapping[str, Any]) -> dict[str, Any]:
    from flowkit.dsl.parameters import flow_parameters
    from flowkit.settings import load_settings

    declared = flow_parameters(flow_cls)
    by_name = {p.name.replace("-", "_"): attr for attr, p in declared.items()}
    values: dict[str, Any] = {}
    for key, value in given.items():
        attr = key if key in declared else by_name.get(key)
        if attr is None:
            raise ParameterError(
                f"{flow_cls.__name__} has no parameter {key!r}" + did_you_mean(key, declared),
                hint=f"parameters: {', '.join(sorted(declared)) or 'none'}; other values go in "
                "inputs={...}",
            )
        values[attr] = declared[attr].convert(value)
    for attr, param in declared.items():
        if attr in values:
            continue
        default = param.resolve_default(flow_cls.__name__, load_settings().user)
        if default is None and param.required:
            raise ParameterError(
                f"parameter {param.name!r} is required", hint=f"pass params={{{attr!r}: ...}}"
            )
        values[attr] = param.convert(default) if default is not None else None
    return values


def run_step(
    flow: type | str | Path,
    step: str,
    inputs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    input: Any = None,
    index: int = 0,
    num_splits: int | None = None,
) -> StepResult:
    """Run one step of a flow in this process and return what it did.

    Args:
        flow: The flow class, or the path of its flow file.
        step: The step to run.
        inputs: The artifacts the step starts with (as set by earlier steps). For a join step:
            one mapping per incoming branch, as a list (a foreach join, or a static split's
            branches in ``self.next`` order) or as ``{branch step: {...}}``.
        params: Parameter values (by attribute name); the others take their defaults.
        input: For a step inside a foreach, ``self.input``.
        index: For a step inside a foreach, its split's position.
        num_splits: For a step inside a foreach, how many splits there are (default
            ``index + 1``).

    Returns:
        The step's :class:`StepResult`.

    Raises:
        Exception: Whatever the step raises, as it raised it.
        FlowkitError: The flow or step does not exist, a parameter is wrong, the step broke
            a rule of the DSL (e.g. no ``self.next``), or an artifact cannot be stored.
    """
    __tracebackhide__ = True  # pytest shows the step's frames, not this helper's
    from flowkit.datastore.flowstore import FlowDatastore
    from flowkit.datastore.storage import ByteStorage
    from flowkit.graph import load_graph

    flow_cls = flow if isinstance(flow, type) else load_flow_class(flow)
    graph = load_graph(flow_cls)
    if step not in graph:
        raise FlowkitError(
            f"{graph.name} has no step {step!r}" + did_you_mean(step, graph.steps),
            hint=f"steps: {', '.join(graph.steps)}",
        )
    import fsspec

    folder = f"/flowkit-steptest-{uuid.uuid4().hex}"
    store = FlowDatastore(ByteStorage(f"memory://{folder}"), graph.name)
    try:
        values = _param_values(flow_cls, params or {})
        return _run(flow_cls, graph, store, step, values, inputs, input, index, num_splits)
    finally:
        memory = fsspec.filesystem("memory")
        if memory.exists(folder):
            memory.rm(folder, recursive=True)


def _parent(store: Any, step: str, task_id: str, values: Mapping[str, Any]) -> Any:
    """A stored, succeeded task of ``step`` that set ``values``: the input of the step under
    test."""
    from flowkit.datastore.manifest import TaskManifest

    now = time.time()
    manifest = TaskManifest(
        flow=store.flow_name,
        run_id=TEST_RUN_ID,
        step=step,
        task_id=task_id,
        attempt=0,
        status="succeeded",
        started_at=now,
        finished_at=now,
        artifacts=store.save_artifacts(dict(values)) if values else {},
    )
    store.write_manifest(manifest)
    return manifest


def _branches(
    node: Any, inputs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None
) -> list[tuple[str, Mapping[str, Any]]]:
    """``(parent step, artifacts)`` for each branch a join step gets."""
    if inputs is None:
        raise FlowkitError(
            f"step {node.name!r} is a join: it needs one set of inputs per branch",
            hint="pass inputs=[{...}, {...}] (or {branch step: {...}})",
        )
    if isinstance(inputs, Mapping):
        if not all(isinstance(v, Mapping) for v in inputs.values()):
            raise FlowkitError(
                f"step {node.name!r} is a join: inputs must be a list of mappings or "
                "{branch step: mapping}",
                hint="pass inputs=[{...}, {...}]",
            )
        unknown = [k for k in inputs if k not in node.parents]
        if unknown:
            raise FlowkitError(
                f"step {node.name!r} joins {', '.join(node.parents)}, not {unknown[0]!r}"
                + did_you_mean(unknown[0], node.parents),
                hint="key inputs by the steps that lead into the join",
            )
        return list(inputs.items())
    parents = node.parents
    if len(parents) == 1:  # a foreach join: every branch comes from the same step
        return [(parents[0], branch) for branch in inputs]
    if len(inputs) != len(parents):
        raise FlowkitError(
            f"step {node.name!r} joins {len(parents)} branches ({', '.join(parents)}) but "
            f"{len(inputs)} input mappings were given",
            hint="give one mapping per branch, or {branch step: {...}}",
        )
    return list(zip(parents, inputs, strict=True))


def _foreach_levels(graph: Any, step: str, store: Any, value: Any, index: int, count: int | None):
    """The foreach levels enclosing ``step``; the innermost one's element is ``value``."""
    from flowkit.datastore.manifest import ForeachFrame

    node = graph[step]
    opening = [s for s, _ in node.split_stack if graph[s].kind == "foreach"]
    if node.is_join and opening and graph[opening[-1]].name == node.closes:
        opening = opening[:-1]  # a foreach join is outside the foreach it closes
    levels = []
    for position, split in enumerate(opening):
        inner = position == len(opening) - 1
        element = store.save_artifacts({"input": value if inner else None})["input"]
        i = index if inner else 0
        levels.append(
            ForeachFrame(
                split, i, count or i + 1, str(graph[split].foreach_var), element=element.sha
            )
        )
    return levels


def _run(
    flow_cls: type,
    graph: Any,
    store: Any,
    step: str,
    params: dict[str, Any],
    inputs: Any,
    value: Any,
    index: int,
    count: int | None,
) -> StepResult:
    __tracebackhide__ = True
    from flowkit.dsl.current import current
    from flowkit.runtime.spec import ParentRef, TaskSpec
    from flowkit.runtime.splits import elements_of
    from flowkit.runtime.task import RunContext, call_step

    node = graph[step]
    param_refs = store.save_artifacts(params) if params else {}
    spec = TaskSpec(
        step, "1", 0, [], _foreach_levels(graph, step, store, value, index, count), param_refs
    )
    if node.is_join:
        for number, (parent, values) in enumerate(_branches(node, inputs), start=2):
            manifest = _parent(store, parent, str(number), values)
            spec.parents.append(ParentRef.of(manifest))
    else:
        if inputs is not None and not isinstance(inputs, Mapping):
            raise FlowkitError(
                f"step {step!r} is not a join: inputs must be one mapping",
                hint="pass inputs={'name': value, ...}",
            )
        if node.parents:
            spec.inputs = _parent(store, node.parents[0], "0", inputs or {})
            spec.parents.append(ParentRef.of(spec.inputs))
        elif inputs:
            raise FlowkitError(
                f"step {step!r} is the first step: it has no inputs",
                hint="pass parameter values with params={...}",
            )
    ctx = RunContext(cast("type[FlowSpec]", flow_cls), graph, store, TEST_RUN_ID, user="steptest")
    current._bind(
        flow_name=graph.name,
        run_id=TEST_RUN_ID,
        step_name=step,
        task_id=spec.task_id,
        retry_count=0,
        origin_run_id=None,
        username="steptest",
        parameter_names=sorted(params),
        tags=[],
        datastore_root=store.storage.root,
    )
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            flow, state = call_step(ctx, spec)
    except BaseException:
        # The step's exception propagates as raised; what it printed goes where pytest looks.
        sys.stdout.write(out.getvalue())
        sys.stderr.write(err.getvalue())
        raise
    finally:
        current._clear()
    for name in state.refs:  # the datastore goes away: what the flow inherited is read now
        state.load(name)
    values = {k: v for k, v in flow.__dict__.items() if not k.startswith("_")}
    # Stored as a run stores them (unpicklable values fail here), then the ones the step set,
    # changed or merged are loaded back, as the next step would see them.
    refs = {k: r for k, r in state.refs.items() if k not in values}
    refs.update(store.save_artifacts(values) if values else {})
    before = dict(param_refs)
    if spec.inputs is not None:
        before.update(spec.inputs.artifacts)
    artifacts = {
        name: store.load_artifact(ref)
        for name, ref in refs.items()
        if before.get(name) != ref and name not in params
    }
    transition = state.transition
    result = StepResult(
        step,
        artifacts,
        list(transition.targets) if transition else [],
        stdout=out.getvalue(),
        stderr=err.getvalue(),
        flow=flow,
    )
    if transition is not None and transition.foreach:
        result.foreach = transition.foreach
        result.splits = elements_of(
            getattr(flow, transition.foreach), int(transition.num_splits or 0), f"step {step!r}"
        )
    if transition is not None:
        result.condition = transition.condition
    return result
