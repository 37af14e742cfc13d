"""An Airflow task whose step has ``@batch``: the task runs as an AWS Batch job, Airflow watches.

The Airflow task does not run the step itself: it hands the same task — the deterministic task
id, the attempt Airflow is on, the parents and foreach frames found in the datastore — to the
Batch plugin's executor, which submits it as a job running ``python FLOW.py step ...`` from the
run's code snapshot, and then waits for it, printing its state changes and log lines. The job
commits the task's manifest to the (S3) datastore itself; the Airflow task's exit code follows
it, so a failed job fails the Airflow task and Airflow's retries start a new attempt (a new job).
When Airflow stops the task (SIGTERM: its timeout, a kill from the UI) the job is terminated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowkit.extend import (
    FlowDatastore,
    FlowGraph,
    ParentRef,
    RunContext,
    StepDecorator,
    TaskManifest,
    TaskSpec,
)

#: The executor name of ``@batch`` (its ``executor_name()``).
BATCH = "batch"


def remote_executor(decorators: list[StepDecorator]) -> str | None:
    """The executor a step's decorators send it to (``"batch"``), or ``None``: this worker."""
    return next((d.executor_name() for d in decorators if d.executor_name()), None)


def run_on_batch(
    store: FlowDatastore,
    flow_cls: type,
    graph: FlowGraph,
    decorators: dict[str, list[StepDecorator]],
    *,
    run_id: str,
    step: str,
    task_id: str,
    attempt: int,
    parents: list[str],
    frames: list[Any],
    inputs: TaskManifest | None,
    flow_file: str,
    with_specs: tuple[str, ...],
    poll: float = 2.0,
) -> TaskManifest:
    """Run one task as an AWS Batch job and wait for it.

    Args:
        parents: ``run/step/task`` of each input task.
        frames: The task's :class:`~flowkit.extend.ForeachFrame` s, outermost first.
        inputs: The only parent's manifest (a step that is not a join).
        flow_file: The flow file's path inside the code snapshot.
        poll: Longest wait, in seconds, for one round of the executor's loop.

    Returns:
        The attempt's manifest: the one the job committed, or a failure manifest saying why
        the job ended without committing one.

    Raises:
        FlowkitError: The Batch settings are incomplete, or the datastore is not on S3.
    """
    from flowkit_batch.executor import BatchExecutor

    record = store.run_record(run_id)
    ctx = RunContext(
        flow_cls,
        graph,
        store,
        run_id,
        user=record.user,
        flow_file=Path(flow_file),
        decorators=decorators,
        with_specs=with_specs,
        catalog=record.catalog,
    )
    limits = [t for d in decorators.get(step, []) if (t := d.timeout_seconds())]
    refs = []
    for parent in parents:
        parent_run, parent_step, parent_task = parent.split("/")
        refs.append(ParentRef(store.flow_name, parent_run, parent_step, parent_task))
    spec = TaskSpec(
        step,
        task_id,
        attempt,
        refs,
        list(frames),
        dict(record.parameters),
        timeout=min(limits) if limits else None,
        inputs=inputs,
    )
    executor = BatchExecutor(ctx)
    executor.launch(spec)
    try:
        while True:
            outcomes = executor.poll(poll)
            if outcomes:
                [outcome] = outcomes
                if not outcome.committed:  # the job died before committing: record why
                    store.write_manifest(outcome.manifest)
                return outcome.manifest
    except BaseException:
        # SIGTERM from Airflow (raised as SystemExit), Ctrl-C, or a broken watch: stop the job
        executor.cancel_all()
        raise
