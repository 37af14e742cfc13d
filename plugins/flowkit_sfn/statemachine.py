"""A flow's graph as an AWS Step Functions state machine (Amazon States Language), one Batch job
per task.

Pure: :func:`build_state_machine` reads a :class:`FlowGraph` and the steps' decorators and
returns a ``dict``; nothing here calls AWS.

Shape of the machine:

* every step is a ``Task`` state submitting a Batch job (``batch:submitJob.sync``) whose
  command runs ``python -m flowkit_sfn.task`` with the run id (``sfn-<execution name>``) and a
  task id computed *in the state machine* from the step, the foreach indexes that lead to it
  (``<step>-<i>-<j>``, from ``$$.Map.Item.Value``) and, for steps on a loop, the pass number
  (``-p<n>``). Joins therefore know their inputs' ids without collecting any output, and no
  state carries more than a few short strings, whatever the foreach width;
* a static split is a ``Parallel`` state, one branch per ``next`` target, closed by its join;
* a foreach is a ``Map`` over the split indexes (see "Foreach width" below), nested foreach
  being a ``Map`` inside the iteration of another;
* a switch is a ``Choice`` on the branch the switch step chose; a branch that loops back goes
  through a ``Pass`` that counts the pass, then to the loop's first step;
* ``@retry`` is the task's ``Retry`` (``States.TaskFailed``, the decorator's count and delay;
  each attempt is a new job told ``$$.State.RetryCount``), ``@timeout`` is enforced by the task
  itself with the job's ``AttemptDurationSeconds`` (at least 60) as a backstop,
  ``@resources`` (or ``@batch``'s cpu/memory/gpu) the job's ``ResourceRequirements``,
  ``@batch(queue=...)`` its queue. ``@catch`` needs no state: the task catches the failure
  itself, told which attempt is its last.

Foreach width and switch choice: a Batch job returns no payload to Step Functions, so the task
that runs a foreach (or switch) step writes one DynamoDB item keyed ``<run id>/<task id>``
holding ``splits`` (a number) or ``branch`` (a string); a ``dynamodb:getItem`` state reads it
back (what Metaflow does too). For a foreach, a ``Choice`` then picks an INLINE ``Map`` over
``States.ArrayRange(0, splits - 1, 1)`` when ``splits <= inline_limit`` (at most 1000, the
intrinsic's limit, and small enough that the iterations' tiny outputs and history stay well
below the 256 KiB payload and 25,000-event limits), else a DISTRIBUTED ``Map`` over the
``chunks`` the task also wrote (a JSON string of ``[first, last]`` index pairs, 1000 indexes
each, so at most ~12 KiB for a million splits): each child execution is an inline ``Map`` over
``States.ArrayRange(first, last, 1)`` and outputs ``{}``, so no payload grows with the width
and no S3 object is needed. Both maps lead to the join. The iteration's states are the same in
both, with a prefix (``i_`` / ``d_``) so every state name stays unique.

Parameters come from the execution input, checked by the machine's first states: see
:mod:`flowkit_sfn.inputstates`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flowkit import Parameter
from flowkit.extend import FlowGraph, StepDecorator, StepNode, load_graph, resolve_step_decorators
from flowkit_sfn.inputstates import INPUT_STATE as INPUT_STATE  # re-exported
from flowkit_sfn.inputstates import MISSING_PARAMETER as MISSING_PARAMETER  # re-exported
from flowkit_sfn.inputstates import flow_parameters as flow_parameters  # re-exported
from flowkit_sfn.inputstates import input_comment, input_states

BATCH_SUBMIT = "arn:aws:states:::batch:submitJob.sync"
DYNAMO_GET = "arn:aws:states:::dynamodb:getItem"
#: ``States.ArrayRange`` makes at most this many items.
ARRAY_RANGE_MAX = 1000


@dataclass(frozen=True)
class SfnOptions:
    """Where the generated jobs run and where foreach/switch results are read back.

    Attributes:
        job_queue: Batch queue of steps whose ``@batch`` names none.
        job_definition: Batch job definition every job uses (image, role, no credentials).
        flow_file: The flow file's name inside the code package.
        code: Content hash of the flow's code package (``CODE`` until deployed).
        table: DynamoDB table holding foreach widths and switch choices.
        inline_limit: Widest foreach run as an inline Map; wider ones are distributed.
        max_concurrency: Concurrent iterations of a distributed Map (0: no limit).
        system_tags: Tags the run is recorded with (``@project``'s), given to the start task.
        user: Who the runs are recorded as started by (the deploying user, so the runs are in
            that user's default namespace); ``""``: the job's user.
        catalog: Blob of the data catalog record deployed with the flow (``create --profile
            /--catalog``), given to the start task; ``""``: none.
    """

    job_queue: str = "flowkit-default"
    job_definition: str = "flowkit"
    flow_file: str = "flow.py"
    code: str = "CODE"
    table: str = "flowkit-sfn"
    inline_limit: int = 500
    max_concurrency: int = 0
    system_tags: tuple[str, ...] = ()
    user: str = ""
    catalog: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.inline_limit <= ARRAY_RANGE_MAX:
            raise ValueError(f"inline_limit must be 1..{ARRAY_RANGE_MAX}, not {self.inline_limit}")


def state_machine_for(flow_cls: type, options: SfnOptions | None = None) -> dict[str, Any]:
    """The state machine of ``flow_cls`` (its graph checked, its decorators validated).

    Raises:
        FlowDefinitionErrors: The flow or one of its decorators is malformed.
    """
    graph = load_graph(flow_cls)
    decorators = resolve_step_decorators(flow_cls, graph)
    return build_state_machine(graph, decorators, options, flow_parameters(flow_cls))


def build_state_machine(
    graph: FlowGraph,
    decorators: dict[str, list[StepDecorator]] | None = None,
    options: SfnOptions | None = None,
    parameters: Sequence[Parameter] = (),
) -> dict[str, Any]:
    """The Amazon States Language document running ``graph`` (see the module's docstring).

    Args:
        graph: A checked flow graph (``closes`` and ``loops_to`` filled).
        decorators: Each step's decorators (none when omitted).
        options: Queues, tables and limits (defaults when omitted).
        parameters: The flow's parameters, read from the execution input (none when omitted).
    """
    builder = _Builder(graph, decorators or {}, options or SfnOptions())
    init = {
        "Type": "Pass",
        "Comment": "run id from the execution name; the top level is outside any foreach; "
        "the parameters as one JSON string, for the start step",
        "Parameters": {
            "run_id.$": "States.Format('sfn-{}', $$.Execution.Name)",
            "path": "",
            "pass": 0,
            # the execution input, or flowkit-no-parameters' {"parameters": {}}
            "params.$": "States.JsonToString($.parameters)",
        },
        "Next": "start",
    }
    body = builder.scope("start", None, "")
    return {
        "Comment": f"flowkit flow {graph.name}; {input_comment(parameters)}",
        "StartAt": INPUT_STATE,
        "States": {**input_states(parameters), "init": init, **body["States"]},
    }


def _quoted(text: str) -> str:
    """``text`` inside an intrinsic function's quoted string (quotes and braces escaped)."""
    return re.sub(r"([\\'{}])", r"\\\1", text)


def _job_name(flow: str, step: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{flow}-{step}")[:128]


class _Builder:
    def __init__(
        self, graph: FlowGraph, decorators: dict[str, list[StepDecorator]], options: SfnOptions
    ) -> None:
        self.graph = graph
        self.decorators = decorators
        self.options = options
        self.join_of = {n.closes: n.name for n in graph if n.closes}
        self.looped = graph.loop_steps()

    # -- scopes ---------------------------------------------------------------------------------
    def scope(self, start: str, stop: str | None, prefix: str) -> dict[str, Any]:
        """States from ``start`` up to (not including) ``stop``; names prefixed with ``prefix``."""
        states: dict[str, Any] = {}
        todo, seen = [start], set()
        while todo:
            name = todo.pop(0)
            if name == stop or name in seen:
                continue
            seen.add(name)
            todo.extend(self._emit(self.graph[name], stop, prefix, states))
        return {"StartAt": prefix + start, "States": states}

    def _emit(
        self, node: StepNode, stop: str | None, prefix: str, states: dict[str, Any]
    ) -> list[str]:
        name = prefix + node.name
        task = self._task(node)
        states[name] = task

        def goto(target: str | None, state: dict[str, Any]) -> None:
            if target is None or target == stop:
                state["End"] = True
            else:
                state["Next"] = prefix + target

        if node.kind == "end" or not node.out:
            task["End"] = True
            return []
        if node.kind == "linear" or (node.kind == "foreach" and node.num_parallel is not None):
            if node.num_parallel is not None:
                task["Comment"] = "a @parallel gang's body runs as one multi-node job"
            goto(node.out[0], task)
            return [node.out[0]]
        if node.kind == "split":
            join = self.join_of[node.name]
            task["Next"] = f"{name}_branches"
            parallel: dict[str, Any] = {
                "Type": "Parallel",
                "Branches": [self.scope(out, join, prefix) for out in node.out],
                "ResultPath": None,
            }
            goto(join, parallel)
            states[f"{name}_branches"] = parallel
            return [join]
        if node.kind == "foreach":
            join = self.join_of[node.name]
            self._foreach(node, name, prefix, states, task)
            goto(join, states[f"{name}_inline"])
            goto(join, states[f"{name}_distributed"])
            return [join]
        # switch
        task["Next"] = f"{name}_read"
        states[f"{name}_read"] = self._read(node, "branch", "States.Format('{}', $.Item.branch.S)")
        states[f"{name}_read"]["Next"] = f"{name}_choice"
        choices = []
        for key, target in node.switch_cases.items():
            next_state = prefix + target
            if target in node.loops_to:
                next_state = f"{name}_again_{target}"
                states[next_state] = {
                    "Type": "Pass",
                    "Comment": "one more pass of the loop: the next tasks get new ids",
                    "Parameters": {
                        "run_id.$": "$.run_id",
                        "path.$": "$.path",
                        "pass.$": "States.MathAdd($.pass, 1)",
                    },
                    "Next": prefix + target,
                }
            elif target == stop:
                next_state = f"{name}_done"
                states[next_state] = {"Type": "Succeed"} if stop is None else {"Type": "Pass"}
                if stop is not None:
                    states[next_state]["End"] = True
            choices.append({"Variable": "$.switch.value", "StringEquals": key, "Next": next_state})
        states[f"{name}_choice"] = {"Type": "Choice", "Choices": choices}
        return [t for t in node.switch_cases.values() if t not in node.loops_to]

    def _foreach(
        self, node: StepNode, name: str, prefix: str, states: dict[str, Any], task: dict[str, Any]
    ) -> None:
        opts = self.options
        join = self.join_of[node.name]
        task["Next"] = f"{name}_read"
        states[f"{name}_read"] = self._read(node, "splits", "States.StringToJson($.Item.splits.N)")
        states[f"{name}_read"]["ResultSelector"]["chunks.$"] = (
            "States.StringToJson($.Item.chunks.S)"
        )
        states[f"{name}_read"]["Next"] = f"{name}_width"
        states[f"{name}_width"] = {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.splits.value",
                    "NumericGreaterThan": opts.inline_limit,
                    "Next": f"{name}_distributed",
                }
            ],
            "Default": f"{name}_range",
        }
        states[f"{name}_range"] = {
            "Type": "Pass",
            "Parameters": {
                "indexes.$": "States.ArrayRange(0, States.MathAdd($.splits.value, -1), 1)"
            },
            "ResultPath": "$.splits",
            "Next": f"{name}_inline",
        }
        selector = {
            "run_id.$": "$.run_id",
            "path.$": "States.Format('{}-{}', $.path, $$.Map.Item.Value)",
            "pass": 0,
        }
        # a foreach on a loop fans out once per pass: the pass goes into its splits' path
        looped = node.name in self.looped
        base = "States.Format('{}-p{}', $.path, $.pass)" if looped else "$.path"
        body = node.out[0]
        inline_proc = self.scope(body, join, f"{prefix}i_")
        inline_path = "States.Format('{}-p{}-{}', $.path, $.pass, $$.Map.Item.Value)"
        states[f"{name}_inline"] = {
            "Type": "Map",
            "ItemsPath": "$.splits.indexes",
            "ItemSelector": {**selector, "path.$": inline_path} if looped else selector,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **inline_proc},
            "ResultPath": None,
        }
        # wider: a distributed Map over chunks of ARRAY_RANGE_MAX indexes, each child execution
        # an inline Map over its chunk's range (so at most ARRAY_RANGE_MAX**2 splits)
        chunk_proc = self.scope(body, join, f"{prefix}d_")
        chunk_states: dict[str, Any] = {
            f"{name}_chunk_range": {
                "Type": "Pass",
                "Parameters": {
                    "indexes.$": "States.ArrayRange($.chunk[0], $.chunk[1], 1)",
                    "run_id.$": "$.run_id",
                    "path.$": "$.path",
                },
                "Next": f"{name}_chunk",
            },
            f"{name}_chunk": {
                "Type": "Map",
                "ItemsPath": "$.indexes",
                "ItemSelector": selector,
                "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **chunk_proc},
                "ResultPath": None,
                "Next": f"{name}_chunk_done",
            },
            # the child's output is {}: a thousand children's outputs stay a few bytes
            f"{name}_chunk_done": {"Type": "Pass", "Parameters": {}, "End": True},
        }
        states[f"{name}_distributed"] = {
            "Type": "Map",
            "ItemsPath": "$.splits.chunks",
            "ItemSelector": {
                "run_id.$": "$.run_id",
                "path.$": base,
                "chunk.$": "$$.Map.Item.Value",
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": f"{name}_chunk_range",
                "States": chunk_states,
            },
            "MaxConcurrency": opts.max_concurrency,
            "ResultPath": None,
        }

    # -- states ---------------------------------------------------------------------------------
    def _task_id(self, node: StepNode) -> str:
        """An intrinsic-function expression of the task's id (step, foreach path, pass)."""
        if node.name in self.looped:
            return f"States.Format('{node.name}{{}}-p{{}}', $.path, $.pass)"
        return f"States.Format('{node.name}{{}}', $.path)"

    def _read(self, node: StepNode, field: str, value: str) -> dict[str, Any]:
        """A getItem of what the task of ``node`` wrote (its width or its branch)."""
        key = f"States.Format('{{}}/{{}}', $.run_id, {self._task_id(node)})"
        return {
            "Type": "Task",
            "Resource": DYNAMO_GET,
            "Parameters": {
                "TableName": self.options.table,
                "Key": {"pathspec": {"S.$": key}},
                "ConsistentRead": True,
            },
            "ResultSelector": {"value.$": value},
            "ResultPath": "$.switch" if field == "branch" else "$.splits",
        }

    def _deco(self, step: str, name: str) -> StepDecorator | None:
        return next((d for d in self.decorators.get(step, []) if d.name == name), None)

    def _task(self, node: StepNode) -> dict[str, Any]:
        opts = self.options
        retry = self._deco(node.name, "retry")
        retries = retry.retries() if retry else 0
        start_only = ""
        if node.name == "start":
            tags = "".join(f", '--system-tag', '{tag}'" for tag in opts.system_tags)
            if opts.user:
                tags += f", '--user', '{_quoted(opts.user)}'"
            if opts.catalog:
                tags += f", '--catalog-record', '{opts.catalog}'"
            # the whole execution input: the start task reads its "trigger" (EventBridge's)
            start_only = (
                f"{tags}, '--execution-input', States.JsonToString($$.Execution.Input), "
                "'--param-json', $.params"
            )
        command = (
            "States.Array('python', '-m', 'flowkit_sfn.task', "
            f"'--flow', '{self.graph.name}', "
            f"'--flow-file', '{opts.flow_file}', '--code', '{opts.code}', "
            f"'--step', '{node.name}', '--run-id', $.run_id, "
            f"'--task-id', {self._task_id(node)}, '--foreach-path', $.path, "
            "'--retry-count', States.Format('{}', $$.State.RetryCount), "
            f"'--max-retries', '{retries}'{start_only})"
        )
        batch = self._deco(node.name, "batch")
        params: dict[str, Any] = {
            "JobName": _job_name(self.graph.name, node.name),
            "JobQueue": (batch.attributes.get("queue") if batch else None) or opts.job_queue,
            "JobDefinition": opts.job_definition,
            "ContainerOverrides": {"Command.$": command},
        }
        needs = self._resources(node.name)
        if needs:
            params["ContainerOverrides"]["ResourceRequirements"] = needs
        task: dict[str, Any] = {
            "Type": "Task",
            "Resource": BATCH_SUBMIT,
            "Parameters": params,
            "ResultPath": None,
        }
        timeout = self._deco(node.name, "timeout")
        seconds = timeout.timeout_seconds() if timeout else None
        if seconds:
            # The task enforces @timeout itself (so @catch can catch it); Batch's attempt
            # duration is the backstop. No TimeoutSeconds on the state: it would count the
            # job's time in the queue too.
            params["Timeout"] = {"AttemptDurationSeconds": max(60, math.ceil(seconds))}
        if retry and retries:
            task["Retry"] = [
                {
                    "ErrorEquals": ["States.TaskFailed", "States.Timeout"],
                    "MaxAttempts": retries,
                    "IntervalSeconds": max(1, math.ceil(retry.retry_delay())),
                    "BackoffRate": 1.0,
                }
            ]
        return task

    def _resources(self, step: str) -> list[dict[str, str]]:
        values: dict[str, Any] = {}
        for name in ("resources", "batch"):  # @batch's own values win, as on Batch
            deco = self._deco(step, name)
            if deco is not None:
                given = {k: deco.attributes.get(k) for k in ("cpu", "memory", "gpu")}
                values.update({k: v for k, v in given.items() if v is not None})
        kinds = (("cpu", "VCPU"), ("memory", "MEMORY"), ("gpu", "GPU"))
        return [
            {"Type": kind, "Value": f"{values[key]:g}" if key == "cpu" else str(int(values[key]))}
            for key, kind in kinds
            if values.get(key)
        ]
