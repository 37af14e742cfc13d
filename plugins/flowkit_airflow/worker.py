"""What the tasks of a generated DAG call on the Airflow worker (the DAG file imports this).

Each step task starts ``python -m flowkit_airflow.task`` in a child process (the flow's code
runs there, not in Airflow's task process), streams its output into the task's log, and turns
its exit code into Airflow's outcome: success, failure (Airflow retries it per the step's
``@retry``), or skipped (the task was not reached: a switch took another branch). Airflow is
imported only inside the functions, so flowkit imports this module without Airflow installed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from flowkit.extend import FlowkitError, open_flow_datastore
from flowkit_airflow.arrivals import claim_next_object
from flowkit_airflow.task import EXIT_SKIPPED, child_paths, finish_run, flowkit_run_id

#: Seconds a stopped task has to end on its own before it is killed.
_GRACE_SECONDS = 10


class StepFailed(FlowkitError):
    """A flowkit task run by Airflow failed (its log and manifest say why)."""

    headline = "step failed"


def _run_id(context: Mapping[str, Any]) -> str:
    return flowkit_run_id(str(context["dag_run"].run_id))


def task_command(
    flow: Mapping[str, Any], step: str, path: str, context: Mapping[str, Any]
) -> list[str]:
    """The command line of ``python -m flowkit_airflow.task`` for one Airflow task instance."""
    attempt = max(int(context["ti"].try_number) - 1, 0)
    argv = [
        sys.executable,
        "-m",
        "flowkit_airflow.task",
        "--flow",
        flow["flow"],
        "--code",
        flow["code"],
        "--flow-file",
        flow["flow_file"],
        "--root",
        flow["root"],
        "--run-id",
        _run_id(context),
        "--step",
        step,
        "--path",
        path,
        "--attempt",
        str(attempt),
    ]
    for tag in flow.get("system_tags", []):
        argv += ["--system-tag", tag]
    for spec in flow.get("with", []):
        argv += ["--with", spec]
    arrived = _arrived(flow, context)
    if step == "start":
        params = dict(context.get("params") or {})
        if arrived is not None:
            mapping = flow["trigger"].get("parameters") or {}
            params.update({name: arrived[field] for name, field in mapping.items()})
        argv += ["--params-json", json.dumps(params, default=str)]
        if flow.get("catalog"):
            argv += ["--catalog-record", flow["catalog"]]
    if arrived is not None:
        argv += ["--trigger-json", json.dumps(arrived)]
    return argv


def _arrived(flow: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any] | None:
    """The object the DAG run's ``flowkit-trigger`` task took (``None`` without ``@trigger``)."""
    if not flow.get("trigger"):
        return None
    found = context["ti"].xcom_pull(task_ids="flowkit-trigger")
    return dict(found) if isinstance(found, Mapping) else None


def poll_trigger(flow: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``flowkit-trigger`` task: take the oldest new object under the flow's ``@trigger``
    location (see :mod:`flowkit_airflow.arrivals`); ``None`` (nothing new) skips the DAG run."""
    store = open_flow_datastore(flow["root"], flow["flow"])
    dag_run = context["dag_run"]
    fields = claim_next_object(
        store.storage, flow["flow"], str(dag_run.dag_id), flow["trigger"], str(dag_run.run_id)
    )
    if fields is None:
        print(f"flowkit trigger: nothing new under {flow['trigger']['url']}", flush=True)
    else:
        print(f"flowkit trigger: {fields['url']} starts this run", flush=True)
    return fields


def run_step(flow: Mapping[str, Any], step: str, path: str, context: Mapping[str, Any]) -> None:
    """Run one flowkit task for this Airflow task instance.

    Raises:
        AirflowSkipException: The run did not reach this task.
        StepFailed: The task failed (Airflow retries it while ``retries`` allow).
    """
    argv = task_command(flow, step, path, context)
    child = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            print(line, end="", flush=True)
        code = child.wait()
    except BaseException:
        # Airflow's execution_timeout (or a kill) interrupts us: the task must not outlive it
        _stop(child)
        raise
    if code == EXIT_SKIPPED:
        from airflow.exceptions import AirflowSkipException

        raise AirflowSkipException(f"flowkit step {step} was not reached at {path or 'top'}")
    if code != 0:
        raise StepFailed(
            f"flowkit step {step} (foreach indexes {path or 'none'}) failed: exit {code}"
        )


def _stop(child: subprocess.Popen[str]) -> None:
    """Stop the task's process group: SIGTERM first (the task removes its temporary code
    folder and records how it ended), SIGKILL if it is still there after a grace period."""
    try:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    except ProcessLookupError:
        child.wait()


def fan_out(
    flow: Mapping[str, Any], step: str, paths: list[str], context: Mapping[str, Any]
) -> list[str]:
    """The foreach indexes of the tasks that foreach ``step`` started at each of ``paths``
    (what the next mapped task group is expanded over)."""
    store = open_flow_datastore(flow["root"], flow["flow"])
    return child_paths(store, _run_id(context), step, list(paths))


def finish(flow: Mapping[str, Any], context: Mapping[str, Any]) -> None:
    """Record how the run ended; fail the DAG run when the flow failed.

    Raises:
        StepFailed: The flow's end step did not succeed.
    """
    store = open_flow_datastore(flow["root"], flow["flow"])
    run_id = _run_id(context)
    status = finish_run(store, run_id)
    print(f"flowkit run {flow['flow']}/{run_id}: {status or 'never started'}", flush=True)
    if status != "succeeded":
        raise StepFailed(
            f"flowkit run {flow['flow']}/{run_id} did not succeed",
            hint=f"resume it locally: python {flow['flow_file']} resume --origin-run-id {run_id}",
        )
