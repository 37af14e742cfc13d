"""A flow's graph as the text of one self-contained Airflow DAG file.

Pure: :func:`build_dag_file` reads a :class:`FlowGraph`, the steps' decorators and the flow's
parameters and returns Python source; nothing here imports Airflow. The file it writes imports
only Airflow and flowkit (``flowkit_airflow.worker``) and pins the flow's code snapshot, the
datastore root and the flow file's name in one ``FLOW`` dict.

Shape of the DAG:

* every step is a task running ``python -m flowkit_airflow.task`` (see
  :mod:`flowkit_airflow.task`) with a deterministic flowkit task id from the step and the
  foreach indexes leading to it, so no task id crosses XCom and a join reads its inputs by name;
* steps are grouped in *stages*: the steps of one foreach scope (the body of a foreach, or the
  top level) between two foreach joins. The top-level stages are plain tasks; every other stage
  is a **mapped task group**, expanded over a list of foreach index paths (``"0-2"``) that a
  small task computes from the datastore: ``fan_out_<F>`` (the children of foreach ``F`` at
  each of its own paths) for the first stage of a body, ``gather_<F>_<k>`` (the same list,
  once the stage before is done) for the ones after a nested join. Stages are never nested
  inside each other (Airflow cannot map a group inside a mapped group), which is how nested
  foreach works: the inner body is a stage of its own, expanded over the flattened paths;
* a static split is a fan of tasks closed by its join; a switch runs its chosen branch and the
  tasks of the other branches find they were not reached and are *skipped* (every step task
  has trigger rule ``none_failed``, so a skip does not stop the steps after a switch merges);
* ``flowkit-finish`` (trigger rule ``all_done``) writes the run's end record and fails the DAG
  run when the flow failed.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flowkit import IncludeFile, Parameter
from flowkit.extend import FlowDefinitionError, FlowGraph, StepDecorator

#: An Airflow dag id: letters, digits, ``-``, ``.``, ``_``.
_DAG_ID = re.compile(r"^[A-Za-z0-9_.-]{1,250}$")
_PARAM_TYPES = {"int": "integer", "float": "number", "bool": "boolean", "str": "string"}


@dataclass(frozen=True)
class DagOptions:
    """What the generated DAG pins and how Airflow schedules it.

    Attributes:
        dag_id: The DAG's id (the flow's name by default; ``@project`` prefixes it).
        flow_file: The flow file's name inside the code snapshot.
        code: Content hash of the code snapshot uploaded at create.
        root: The datastore root the tasks read and write.
        system_tags: Tags every run records (``project:...`` under ``@project``).
        with_specs: ``--with`` decorators given to ``create``, applied to every task.
        schedule: The DAG's ``schedule`` as Python source (``None`` = only when triggered).
        start_date: ISO date from which a schedule applies.
        extra_imports: Import lines the schedule and the outlets need.
        outlets: The assets the finish task emits when the run succeeded, as source.
        max_active_tasks: Tasks of one DAG run at once (0: Airflow's default).
        watched: The ``@trigger`` location the DAG's first task polls
            (:func:`flowkit_airflow.schedules.watched_location`), or ``None``.
        catalog: Blob of the data catalog record the runs use (``create --profile/--catalog``);
            ``""``: none.
    """

    dag_id: str
    flow_file: str
    code: str
    root: str
    system_tags: tuple[str, ...] = ()
    with_specs: tuple[str, ...] = ()
    schedule: str = "None"
    start_date: str = "2024-01-01"
    extra_imports: tuple[str, ...] = ()
    outlets: str = ""
    max_active_tasks: int = 0
    watched: dict[str, Any] | None = None
    catalog: str = ""


@dataclass
class _Stage:
    """Steps of one foreach scope between two of its foreach joins."""

    scope: str | None  # the enclosing foreach step, None at the top level
    index: int
    steps: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str | None, int]:
        return (self.scope, self.index)

    @property
    def group_id(self) -> str:
        return f"{self.scope}_splits" + (f"_{self.index}" if self.index else "")

    @property
    def paths_task(self) -> str:
        return f"fan_out_{self.scope}" if self.index == 0 else f"gather_{self.scope}_{self.index}"


def _scope_of(graph: FlowGraph, step: str) -> str | None:
    """The innermost foreach step whose body holds ``step`` (``None``: the top level)."""
    foreach = [s for s, _ in graph[step].split_stack if graph[s].kind == "foreach"]
    return foreach[-1] if foreach else None


def _refuse(graph: FlowGraph, decorators: dict[str, list[StepDecorator]], root: str) -> None:
    """Refuse what the Airflow deployer cannot run, saying why.

    Raises:
        FlowDefinitionError: A loop, ``@parallel``, an executor other than ``@batch``, or
            ``@batch`` with a datastore that is not on S3.
    """
    for node in graph:
        if node.loops_to:
            raise FlowDefinitionError(
                f"step {node.name!r} loops back to {node.loops_to[0]!r}: an Airflow DAG has no "
                "cycles, and the number of passes is known only while the run goes on",
                hint="unroll the loop into a foreach over the passes, or run it with "
                "python FLOW.py run",
                location=node.location,
            )
        if node.num_parallel is not None:
            raise FlowDefinitionError(
                f"step {node.name!r} starts a @parallel gang, which Airflow cannot run as one "
                "multi-node job",
                hint="use a foreach, or run the flow with python FLOW.py run",
                location=node.location,
            )
        for deco in decorators.get(node.name, []):
            executor = deco.executor_name()
            if executor and executor != "batch":
                raise FlowDefinitionError(
                    f"step {node.name!r} has @{deco.name}: the Airflow deployer runs steps on "
                    "the Airflow worker or, with @batch, as AWS Batch jobs, and cannot dispatch "
                    f"to the {executor!r} executor",
                    hint=f"remove @{deco.name} for the Airflow deployment",
                    location=node.location,
                )
            if executor and urlsplit(root).scheme not in ("s3", "s3a"):
                raise FlowDefinitionError(
                    f"step {node.name!r} has @{deco.name}, so its Airflow task runs it as an "
                    f"AWS Batch job, but the datastore {root} is not on S3: the job could not "
                    "read its inputs or write its results",
                    hint="deploy with an S3 datastore: set FLOWKIT_DATASTORE_ROOT=s3://BUCKET/"
                    "PREFIX (or pass --datastore-root) that the jobs' IAM role may read and write",
                    location=node.location,
                )


def stages(graph: FlowGraph) -> list[_Stage]:
    """The flow's steps grouped in stages (see the module's docstring), in an order where every
    stage comes after the stages it reads from."""
    index: dict[str, int] = {}
    found: dict[tuple[str | None, int], _Stage] = {}
    ordered: list[_Stage] = []
    for node in graph.topological():
        scope = _scope_of(graph, node.name)
        if node.is_join and graph[str(node.closes)].kind == "foreach":
            position = index[str(node.closes)] + 1
        else:
            same = [index[p] for p in node.parents if _scope_of(graph, p) == scope and p in index]
            position = max(same, default=0)
        index[node.name] = position
        key = (scope, position)
        if key not in found:
            found[key] = _Stage(scope, position)
            ordered.append(found[key])
        found[key].steps.append(node.name)
    return ordered


def _seconds(value: float) -> str:
    return f"datetime.timedelta(seconds={value!r})"


def _task_options(decorators: list[StepDecorator]) -> dict[str, str]:
    """Airflow operator arguments (as source) from a step's decorators."""
    options: dict[str, str] = {}
    retries = max((d.retries() for d in decorators), default=0)
    if retries:
        options["retries"] = str(retries)
        delay = max((d.retry_delay() for d in decorators), default=0.0)
        options["retry_delay"] = _seconds(delay)
    limits = [t for d in decorators if (t := d.timeout_seconds())]
    if limits:
        options["execution_timeout"] = _seconds(min(limits))
    return options


def _param_source(param: Parameter) -> str:
    """An Airflow ``Param(...)`` for a flow parameter, as source."""
    kind = "string" if isinstance(param, IncludeFile) else _PARAM_TYPES.get(param.type_name)
    default = param.default
    if callable(default):
        default = None  # computed by the start task, as the runner does
    args = [repr(_json_value(default))]
    types: list[str] = [kind] if kind else []
    if default is None and types:
        types.append("null")
    if types:
        args.append(f"type={types[0]!r}" if len(types) == 1 else f"type={types!r}")
    if param.help:
        args.append(f"description={param.help!r}")
    return f"Param({', '.join(args)})"


def _json_value(value: Any) -> Any:
    """``value`` if it is plain JSON, else its text (Airflow keeps params as JSON)."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def _var(step: str) -> str:
    return f"{step}_" if keyword.iskeyword(step) else step


def build_dag_file(
    graph: FlowGraph,
    decorators: dict[str, list[StepDecorator]],
    options: DagOptions,
    parameters: Sequence[Parameter] = (),
) -> str:
    """The source of the Airflow DAG file running ``graph`` (see the module's docstring).

    Raises:
        FlowDefinitionError: The flow uses something the Airflow deployer cannot run, or the
            DAG id is not one Airflow accepts.
    """
    _refuse(graph, decorators, options.root)
    if not _DAG_ID.match(options.dag_id):
        raise FlowDefinitionError(
            f"{options.dag_id!r} is not a valid Airflow DAG id",
            hint="use letters, digits, '-', '.' and '_' (at most 250)",
        )
    flow: dict[str, Any] = {
        "flow": graph.name,
        "code": options.code,
        "flow_file": options.flow_file,
        "root": options.root,
        "system_tags": list(options.system_tags),
        "with": list(options.with_specs),
    }
    if options.catalog:
        flow["catalog"] = options.catalog
    if options.watched is not None:
        flow["trigger"] = options.watched
    all_stages = stages(graph)
    stage_of = {step: stage for stage in all_stages for step in stage.steps}
    out = [
        f'"""Airflow DAG of the flowkit flow {graph.name}, written by '
        f"`python {options.flow_file} airflow create`.",
        "",
        "Do not edit: create it again after changing the flow. Each task runs one flowkit step",
        "from the code snapshot pinned in FLOW; runs appear to flowkit as airflow-<dag run id>.",
        '"""',
        "",
        "import datetime",
        "",
        "from airflow.sdk import DAG, Param, task, task_group",
        *options.extra_imports,
        "",
        "from flowkit_airflow.worker import fan_out, finish, poll_trigger, run_step",
        "",
        f"FLOW = {json.dumps(flow, indent=4)}",
        "",
        "",
        "def _step(name, trigger_rule='none_failed', **options):",
        "    @task(task_id=name, trigger_rule=trigger_rule, **options)",
        "    def step_task(path='', **context):",
        "        run_step(FLOW, name, path, context)",
        "",
        "    return step_task",
        "",
        "",
        "def _fan_out(task_id, step, trigger_rule='none_failed'):",
        "    @task(task_id=task_id, trigger_rule=trigger_rule)",
        "    def fan_out_task(paths, **context):",
        "        return fan_out(FLOW, step, paths, context)",
        "",
        "    return fan_out_task",
        "",
        "",
        "def _gather(task_id):",
        "    @task(task_id=task_id, trigger_rule='none_failed')",
        "    def gather_task(paths):",
        "        return list(paths)",
        "",
        "    return gather_task",
        "",
        "",
        "# a flow with @trigger: the DAG run goes on only when a new object was taken, else",
        "# Airflow skips every task after this one (no flowkit run is made)",
        "@task.short_circuit(task_id='flowkit-trigger')",
        "def _poll(**context):",
        "    return poll_trigger(FLOW, context)",
        "",
        "",
        f"@task(task_id='flowkit-finish', trigger_rule='all_done', outlets=[{options.outlets}])",
        "def _finish(**context):",
        "    finish(FLOW, context)",
        "",
        "",
    ]
    params = ", ".join(f"{p.name!r}: {_param_source(p)}" for p in parameters)
    dag_args = [
        f"dag_id={options.dag_id!r}",
        f"schedule={options.schedule}",
        f"start_date=datetime.datetime.fromisoformat({options.start_date!r})",
        "catchup=False",
        f"params={{{params}}}",
        "tags=['flowkit']",
        f"doc_md={_doc(graph)!r}",
    ]
    if options.max_active_tasks:
        dag_args.append(f"max_active_tasks={options.max_active_tasks}")
    out.append(f"with DAG({', '.join(dag_args)}) as dag:")
    out.append("    T = {}")
    for stage in all_stages:
        out += _emit_stage(stage, stage_of, graph, decorators)
    out.append("")
    out.append("    # the graph's edges; an edge into a mapped stage waits for its paths task")
    for node in graph.topological():
        for child in node.forward_out:
            target = stage_of[child]
            if stage_of[node.name] is target or target.scope is None:
                out.append(f"    T[{node.name!r}] >> T[{child!r}]")
            else:
                out.append(f"    T[{node.name!r}] >> T[{target.paths_task!r}]")
    if options.watched is not None:
        out.append("    _poll() >> T['start']")
    out.append("    done = _finish()")
    out.append(f"    for name in {[n.name for n in graph.topological()]!r}:")
    out.append("        T[name] >> done")
    return "\n".join(out) + "\n"


def _doc(graph: FlowGraph) -> str:
    text = f"flowkit flow **{graph.name}** ({graph.file.rsplit('/', 1)[-1]})"
    return text + (f"\n\n{graph.doc}" if graph.doc else "")


def _emit_stage(
    stage: _Stage,
    stage_of: dict[str, _Stage],
    graph: FlowGraph,
    decorators: dict[str, list[StepDecorator]],
) -> list[str]:
    def step_call(step: str, indent: str, path: str) -> str:
        options = _task_options(decorators.get(step, []))
        if step == "start":
            options["trigger_rule"] = "'all_success'"
        opts = "".join(f", {k}={v}" for k, v in options.items())
        return f"{indent}T[{step!r}] = _step({step!r}{opts})({path})"

    if stage.scope is None:
        return [step_call(step, "    ", "") for step in stage.steps]
    scope = stage.scope
    scope_stage = stage_of[scope]
    if stage.index == 0:
        top = scope_stage.scope is None  # a foreach at the top level runs once, at path ""
        source = "['']" if top else f"T[{scope_stage.paths_task!r}]"
        paths = f"_fan_out({stage.paths_task!r}, {scope!r})({source})"
    else:
        first = next(s for s in stage_of.values() if s.key == (scope, 0))
        paths = f"_gather({stage.paths_task!r})(T[{first.paths_task!r}])"
    function = f"stage_{stage.group_id}"
    lines = [
        "",
        f"    T[{stage.paths_task!r}] = {paths}",
        "",
        f"    @task_group(group_id={stage.group_id!r})",
        f"    def {function}(path):",
    ]
    lines += [step_call(step, "        ", "path") for step in stage.steps]
    lines.append(f"    {function}.expand(path=T[{stage.paths_task!r}])")
    return lines
