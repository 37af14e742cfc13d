"""``@parallel`` gangs on AWS Batch: one multi-node parallel (MNP) job per gang.

**Submission.** A gang of N tasks is one ``SubmitJob`` of a job definition of type
``multinode`` (``nodeProperties``: N nodes, main node 0, one node range ``0:`` whose container
is the same image, resources and role as a single-node job's). The command and environment go
in ``nodeOverrides`` (``containerOverrides`` is refused for MNP jobs); every node runs the same
bootstrap with the gang's *plan* (the N tasks' ``step`` arguments, stored in the datastore) and
picks its own task by ``AWS_BATCH_JOB_NODE_INDEX`` — as an array child does by its index.

**Inside a node.** Before the task starts, the bootstrap turns Batch's variables into the gang's
(:func:`~flowkit.decorators.parallel.gang_environment`): the main node's address is
``AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS`` on the other nodes and the node's own address
on the main node (Batch sets that variable on child nodes only); the rendezvous port is
``MASTER_PORT`` from ``@environment`` or 29500, torch's default.

**The end of the job.** Batch ends an MNP job when its main node exits, stopping the others.
So the main node, once its own task has committed, waits until every other node's task has
committed too, and exits non-zero if one of them failed: the job's state is the gang's.

**Watching.** Node ``i``'s task is followed as job ``JOBID#i`` (Batch's id of the node's own
job); where the service does not describe node jobs, the whole job's state stands for every
node, and only node 0 streams the job's log.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable, Hashable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from flowkit.extend import (
    DEFAULT_MAIN_PORT,
    FlowDatastore,
    JobReport,
    RunNotFound,
    Submission,
    TaskSpec,
    gang_environment,
    gang_task_ids,
    is_gang_task,
    spec_to_args,
)
from flowkit_batch.jobs import (
    bootstrap_command,
    definition_body,
    job_environment,
    job_name,
    submit_request,
)

if TYPE_CHECKING:
    from flowkit_batch.executor import BatchExecutor

#: Batch's variables in the container of a node of an MNP job.
NODE_INDEX = "AWS_BATCH_JOB_NODE_INDEX"
NUM_NODES = "AWS_BATCH_JOB_NUM_NODES"
MAIN_NODE_INDEX = "AWS_BATCH_JOB_MAIN_NODE_INDEX"
MAIN_NODE_ADDRESS = "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"

_PEER_POLL_S = 1.0


def gang_key(spec: TaskSpec) -> Hashable | None:
    """The group key of a gang task (its whole gang, one attempt), ``None`` for other tasks."""
    if not is_gang_task(spec):
        return None
    return ("gang", spec.step, spec.attempt, gang_task_ids(spec)[0])


def multinode_definition(single: dict[str, Any], num_nodes: int) -> dict[str, Any]:
    """The ``multinode`` job definition of a gang of ``num_nodes`` from a single-node one."""
    body = dict(single)
    container = body.pop("containerProperties")
    return {
        **body,
        "type": "multinode",
        "nodeProperties": {
            "numNodes": num_nodes,
            "mainNode": 0,
            "nodeRangeProperties": [{"targetNodes": "0:", "container": container}],
        },
    }


def submit_gang(executor: BatchExecutor, specs: list[TaskSpec]) -> list[Submission]:
    """Submit the gang ``specs`` (node order) as one MNP job; one submission per node."""
    ctx, first = executor.ctx, specs[0]
    config = executor._config(first.step)
    flow_file = ctx.flow_file.name if ctx.flow_file else f"{ctx.flow_name}.py"
    argvs = [spec_to_args(ctx, spec, with_specs=False) for spec in specs]
    shared = [arg for spec in ctx.with_specs for arg in ("--with", spec)]
    command = bootstrap_command(
        ctx.flow_name,
        executor._code(),
        flow_file,
        argv=None,
        plan=executor._plan(argvs),
        shared=shared,
    )
    environment = job_environment(
        ctx.store.storage.root,
        ctx.flow_name,
        ctx.run_id,
        first,
        ctx.decorators.get(first.step, []),
        task_id=None,
        region=executor.api.region,
    )
    size = len(specs)
    tail = f"{first.task_id}-to-{specs[-1].task_id}-gang"
    name = job_name(ctx.flow_name, ctx.run_id, first.step, tail, f"a{first.attempt}")
    definition = executor.api.ensure_definition(multinode_definition(definition_body(config), size))
    request = submit_request(name, config.queue, definition, ctx.flow_name, ctx.run_id, first)
    request["nodeOverrides"] = {
        "numNodes": size,
        "nodePropertyOverrides": [
            {
                "targetNodes": "0:",
                "containerOverrides": {"command": command, "environment": environment},
            }
        ],
    }
    job_id = executor.api.submit(**request)
    group = f"Batch multi-node job {name} ({job_id}, {size} nodes, queue {config.queue})"
    return [
        Submission(spec, f"{job_id}#{index}", f"{name}#{index}", group)
        for index, spec in enumerate(specs)
    ]


def whole_job(job_id: str) -> str:
    """The MNP job of the node job ``JOBID#i`` (any other id unchanged)."""
    return job_id.partition("#")[0]


def describe_nodes(
    describe: Callable[[list[str]], list[dict[str, Any]]],
    jobs: list[Submission],
    report: Callable[[dict[str, Any]], JobReport],
) -> dict[str, JobReport]:
    """Reports by job id, node jobs included (see the module docstring, "Watching")."""
    ids = [job.job_id for job in jobs]
    wholes = sorted({whole_job(i) for i in ids if "#" in i})
    answers = {str(a["jobId"]): a for a in describe(ids + wholes)}
    reports = {job_id: report(answer) for job_id, answer in answers.items()}
    for job_id in ids:
        if job_id in reports or whole_job(job_id) not in reports:
            continue
        stand_in = reports[whole_job(job_id)]
        if not job_id.endswith("#0"):  # one node shows the job's log, not all of them
            stand_in = JobReport(**{**vars(stand_in), "log_stream": None})
        reports[job_id] = stand_in
    return reports


# -- inside a node (called by the bootstrap) -------------------------------------------------


def node_index(environ: Mapping[str, str]) -> int | None:
    """This container's node index in an MNP job, or ``None`` outside one."""
    value = environ.get(NODE_INDEX)
    return int(value) if value is not None else None


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def export_gang_environment(environ: MutableMapping[str, str], argvs: list[list[str]]) -> None:
    """Set the gang's variables for this node's task from Batch's (see the module docstring).

    Args:
        environ: The process environment (``os.environ``), updated in place.
        argvs: The plan: every node's ``step`` arguments, node 0 first.
    """
    index = int(environ[NODE_INDEX])
    main = int(environ.get(MAIN_NODE_INDEX, "0"))
    address = environ.get(MAIN_NODE_ADDRESS)
    if address is None or index == main:
        address = socket.gethostbyname(socket.gethostname())
    port = environ.get("MASTER_PORT", "")
    env = gang_environment(
        address,
        int(port) if port.isdigit() else DEFAULT_MAIN_PORT,
        int(environ.get(NUM_NODES, str(len(argvs)))),
        index,
        _option(argvs[main], "--task-id"),
    )
    environ.update(env)


def wait_for_peers(store: FlowDatastore, argvs: list[list[str]], own: int) -> int:
    """On the main node, after its task: wait until every other node's task has committed.

    Returns:
        0 when every other task succeeded, else 1 (the job then fails, as the gang did).
    """
    pending = {i: argv for i, argv in enumerate(argvs) if i != own}
    if pending:
        print(
            f"flowkit bootstrap: waiting for the other {len(pending)} node(s) of the gang",
            flush=True,
        )
    failed = []
    while pending:
        for index, argv in list(pending.items()):
            try:
                manifest = store.read_manifest(
                    _option(argv, "--run-id"),
                    argv[1],
                    _option(argv, "--task-id"),
                    int(_option(argv, "--attempt")),
                )
            except RunNotFound:
                continue
            del pending[index]
            if manifest.status != "succeeded":
                failed.append(index)
        if pending:
            time.sleep(_PEER_POLL_S)
    if failed:
        nodes = ", ".join(str(i) for i in sorted(failed))
        print(f"flowkit bootstrap: node(s) {nodes} of the gang failed", file=sys.stderr)
        return 1
    return 0
