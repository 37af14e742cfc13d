"""What a Step Functions Batch job runs: one task of a deployed flow, found by its id alone.

``python -m flowkit_sfn.task --flow F --flow-file flow.py --code SHA --step S --run-id sfn-E
--task-id S-0-2 --foreach-path -0-2 --retry-count N --max-retries M [--param-json JSON]``
(the command :mod:`flowkit_sfn.statemachine` writes). The datastore root and the DynamoDB table
come from the job's environment (``FLOWKIT_DATASTORE_ROOT``, ``FLOWKIT_SFN_TABLE``, set by the
job definition ``create`` registers).

The job does, around one ``python FLOW.py step`` (run in this interpreter from the deployed
code snapshot, like :mod:`flowkit_batch.bootstrap`), what the runner does around a local task:

* the start task writes the run's start record (run ``sfn-<execution name>``, the parameters
  from ``--param-json`` converted and defaulted like ``run``'s) and, when the execution input
  (``--execution-input``) has a ``trigger`` object, keeps it in the DynamoDB item
  ``<run id>/trigger``; every task of such a run has it as ``current.trigger``;
* its inputs are found, not collected: a parent's task id is computed from the graph and the
  foreach path (:mod:`flowkit_sfn.parents`), so a join over 10,000 splits receives no list;
* a foreach task writes its width (and the chunks of a distributed Map), a switch task its
  branch, to the DynamoDB item ``<run id>/<task id>`` the state machine reads;
* ``@timeout`` is enforced here (the step is interrupted, a failure like any other), and a
  failure on the last attempt is caught by the step's ``@catch`` as the runner would;
* the end task records the run as succeeded; a task failing on its last attempt (uncaught)
  records it as failed (Step Functions then fails the execution).

Exit codes: 0 the task succeeded, 1 it failed, 2 it could not start (message in the log).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import runpy
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import flowkit
from flowkit.extend import (
    FlowDatastore,
    FlowkitError,
    RunNotFound,
    bind_trigger,
    catch_failed_task,
    load_deployed_flow,
    load_graph,
    load_settings,
    open_flow_datastore,
    read_deployed_catalog,
    resolve_step_decorators,
    start_external_run,
)
from flowkit_sfn.aws import client_factory
from flowkit_sfn.parents import TaskInputs, task_inputs
from flowkit_sfn.settings import SETTINGS
from flowkit_sfn.statemachine import ARRAY_RANGE_MAX

_EXIT_SETUP = 2
#: The DynamoDB item of run R holding its trigger document: ``R/`` and this.
TRIGGER_ITEM = "trigger"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m flowkit_sfn.task",
        description="Run one task of a flow deployed to AWS Step Functions (inside its job).",
    )
    add = parser.add_argument
    add("--flow", required=True, help="flow name, e.g. TrainFlow")
    add("--flow-file", required=True, help="flow file inside the code snapshot")
    add("--code", required=True, help="hash of the deployed code snapshot")
    add("--step", required=True)
    add("--run-id", required=True, help="sfn-<execution name>")
    add("--task-id", required=True, help="<step><foreach path>[-p<pass>]")
    add("--foreach-path", default="", help="-<i>-<j>... of the enclosing foreach splits")
    add("--retry-count", type=int, default=0, help="the attempt ($$.State.RetryCount)")
    add("--max-retries", type=int, default=0, help="the step's @retry count")
    add("--param-json", default=None, help="start only: the execution's parameters")
    add("--execution-input", default=None, help="start only: the execution input (JSON)")
    add("--system-tag", action="append", default=[], help="start only: @project's tags")
    add("--user", default=None, help="start only: who the run is recorded as started by")
    add("--catalog-record", default=None, help="start only: blob of the deployed data catalog")
    return parser


def chunks_of(splits: int, size: int = ARRAY_RANGE_MAX) -> list[list[int]]:
    """``[first, last]`` index pairs of ``size`` splits each: a distributed Map's items."""
    return [[first, min(first + size, splits) - 1] for first in range(0, splits, size)]


class StepTimedOut(Exception):
    """Raised inside the step when its ``@timeout`` expires (recorded as the step's failure,
    so ``@retry`` and ``@catch`` apply as in a local run)."""


def _alarm(seconds: float | None) -> None:
    """Raise :class:`StepTimedOut` in this process after ``seconds`` (``None``: never)."""

    def expired(signum: int, frame: Any) -> None:
        raise StepTimedOut(f"the step exceeded its @timeout of {seconds:g} s")

    if seconds:
        signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    else:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _run_step(
    flow_file: Path, args: argparse.Namespace, inputs: TaskInputs, timeout: float | None
) -> int:
    """``python FLOW.py step ...`` in this interpreter, stopped after ``timeout`` seconds; its
    exit code."""
    argv = [str(flow_file), "step", args.step, "--run-id", args.run_id]
    argv += ["--task-id", args.task_id, "--attempt", str(args.retry_count)]
    for parent in inputs.parents:
        argv += ["--parent", parent]
    if inputs.foreach_json:
        argv += ["--foreach-json", inputs.foreach_json]
    if inputs.iteration:
        argv += ["--iteration", str(inputs.iteration)]
    sys.argv = argv
    _alarm(timeout)
    try:
        runpy.run_path(str(flow_file), run_name="__main__")
    except SystemExit as done:  # the flow's CLI ends with sys.exit(code)
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    finally:
        _alarm(None)
    return 0


def _keep_trigger(dynamodb: Any, table: str, args: argparse.Namespace) -> None:
    """Keep the execution input's ``trigger`` object (if any) for every task of the run."""
    given = json.loads(args.execution_input or "{}")
    trigger = given.get("trigger") if isinstance(given, dict) else None
    if isinstance(trigger, dict):
        item = {
            "pathspec": {"S": f"{args.run_id}/{TRIGGER_ITEM}"},
            "trigger": {"S": json.dumps(trigger)},
        }
        dynamodb.put_item(TableName=table, Item=item)


def _load_run(pathspec: str) -> Any:
    return flowkit.Run(pathspec)


def _bind_trigger(dynamodb: Any, table: str, run_id: str) -> None:
    """``current.trigger`` for this task, when an event started the run."""
    found = dynamodb.get_item(
        TableName=table,
        Key={"pathspec": {"S": f"{run_id}/{TRIGGER_ITEM}"}},
        ConsistentRead=True,
    ).get("Item")
    if found:
        bind_trigger(json.loads(found["trigger"]["S"]), _load_run)


def _report(
    store: FlowDatastore,
    args: argparse.Namespace,
    flow_cls: type,
    graph: Any,
    table: str,
    dynamodb: Any,
) -> bool:
    """After the step: write what the state machine reads, end the run; whether it succeeded."""
    try:
        manifest = store.read_manifest(args.run_id, args.step, args.task_id, args.retry_count)
    except FlowkitError:
        manifest = None  # it died before committing: a failed attempt
    node = graph[args.step]
    if manifest is None or manifest.status != "succeeded":
        if args.retry_count < args.max_retries:
            return False  # Step Functions retries it
        if manifest is None or not catch_failed_task(
            flow_cls, graph, store, args.run_id, args.step, args.task_id
        ):
            store.finish_run(args.run_id, "failed", summary={"failed_task": args.task_id})
            return False
        manifest = store.read_manifest(args.run_id, args.step, args.task_id, args.retry_count)
    item: dict[str, Any] = {}
    if manifest.foreach_count is not None and node.num_parallel is None:
        item["splits"] = {"N": str(manifest.foreach_count)}
        item["chunks"] = {"S": json.dumps(chunks_of(manifest.foreach_count))}
    elif node.kind == "switch":
        target = manifest.next_steps[0]
        key = next(k for k, step in node.switch_cases.items() if step == target)
        item["branch"] = {"S": key}
    if item:
        item["pathspec"] = {"S": f"{args.run_id}/{args.task_id}"}
        dynamodb.put_item(TableName=table, Item=item)
    if node.kind == "end":
        store.finish_run(args.run_id, "succeeded")
    return True


def _give_up(store: FlowDatastore, args: argparse.Namespace) -> None:
    """Record the run as failed after its task could not even start (when the run exists)."""
    # no run yet (the start task failed before writing it): nothing to record
    with contextlib.suppress(RunNotFound):
        store.finish_run(args.run_id, "failed", summary={"failed_task": args.task_id})


def main(argv: list[str] | None = None) -> int:
    """Run the task; return the exit code (0, 1 failed, 2 could not start)."""
    given = list(sys.argv[1:] if argv is None else argv)
    if "--foreach-path" in given[:-1]:
        # a path such as -1-2 would read as an option: glue it to its flag
        at = given.index("--foreach-path")
        given[at : at + 2] = [f"--foreach-path={given[at + 1]}"]
    args = _parser().parse_args(given)
    workdir: Path | None = None
    store: FlowDatastore | None = None
    started_in = os.getcwd()
    try:
        settings = load_settings()
        if not settings.datastore_root:
            raise FlowkitError(
                "FLOWKIT_DATASTORE_ROOT is not set in the job",
                hint="deploy with python FLOW.py step-functions create, whose job definition "
                "sets it",
            )
        table = SETTINGS.load().table
        store = open_flow_datastore(settings.datastore_root, args.flow, settings)
        workdir = Path(tempfile.mkdtemp(prefix="flowkit-sfn-code-"))
        flow_cls = load_deployed_flow(
            store, args.code, args.flow_file, args.flow, workdir, settings
        )
        flow_file = workdir / args.flow_file
        graph = load_graph(flow_cls)
        limits = [
            t
            for d in resolve_step_decorators(flow_cls, graph).get(args.step, [])
            if (t := d.timeout_seconds())
        ]
        timeout = min(limits) if limits else None
        dynamodb = client_factory(settings)("dynamodb")
        if args.step == "start":
            _keep_trigger(dynamodb, table, args)
            start_external_run(
                flow_cls,
                store,
                args.run_id,
                json.loads(args.param_json or "{}"),
                code_sha=args.code,
                flow_file=Path(args.flow_file),
                user=args.user or settings.user,
                system_tags=args.system_tag,
                catalog=read_deployed_catalog(store, args.catalog_record)
                if args.catalog_record
                else None,
            )
        inputs = task_inputs(graph, store, args.run_id, args.step, args.task_id, args.foreach_path)
        _bind_trigger(dynamodb, table, args.run_id)
    except (FlowkitError, OSError, ValueError, KeyError, IndexError) as exc:
        os.chdir(started_in)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        print(f"flowkit sfn task: cannot start the task: {exc}", file=sys.stderr, flush=True)
        if store is not None and args.retry_count >= args.max_retries:
            _give_up(store, args)
        return _EXIT_SETUP
    print(f"flowkit sfn task: {args.flow}/{args.run_id}/{args.step}/{args.task_id}", flush=True)
    try:
        _run_step(flow_file, args, inputs, timeout)
        return 0 if _report(store, args, flow_cls, graph, table, dynamodb) else 1
    finally:
        # a container may run many jobs: leave its temporary folder as it was found
        os.chdir(started_in)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
