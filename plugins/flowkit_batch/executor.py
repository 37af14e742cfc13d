"""The AWS Batch executor: each task is a Batch job; a foreach fans out as one array job.

Only the four primitives of :class:`~flowkit.extend.RemoteExecutor` are Batch-specific
here (submit, describe, read log lines, terminate); queueing, polling with backoff, printing state
changes, streaming logs, ``@timeout``, outcomes and Ctrl-C are the shared base's.

**Array jobs.** Tasks of one step and attempt that are ready together — the splits of a foreach
— are submitted as one array job: one SubmitJob call whatever the width (up to Batch's 10,000),
instead of one call per split against an account-wide request quota. Each child finds its task
in a *plan*, a small JSON blob stored in the datastore next to the artifacts, by the index Batch
gives it (``AWS_BATCH_JOB_ARRAY_INDEX``). Children are still watched, logged, timed out and
retried one by one: a failed split is re-submitted as a job of its own with the next attempt.

**Logs** come from CloudWatch Logs, where Batch's default log driver sends the container's output
while it runs: the lines arrive live, and they include what happens before the task starts (an
image without flowkit, a role that cannot read the datastore), which the datastore would never
see. The task still writes its complete stdout and stderr to the datastore when it commits, so
the stored record does not depend on CloudWatch's retention.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from flowkit.extend import (
    DONE,
    QUEUED,
    RUNNING,
    FlowDatastore,
    FlowkitError,
    JobReport,
    RemoteExecutor,
    RunContext,
    StepDecorator,
    Submission,
    SubmitError,
    TaskSpec,
    load_settings,
    spec_to_args,
)
from flowkit_batch.api import BatchApi
from flowkit_batch.jobs import (
    LOG_GROUP,
    BatchConfigError,
    JobSettings,
    bootstrap_command,
    check_environment,
    definition_body,
    fits_inline,
    job_environment,
    job_name,
    job_settings,
    require_s3,
    submit_request,
)
from flowkit_batch.multinode import describe_nodes, gang_key, submit_gang, whole_job
from flowkit_batch.settings import SETTINGS

_PHASES = {
    "SUBMITTED": QUEUED,
    "PENDING": QUEUED,
    "RUNNABLE": QUEUED,
    "STARTING": QUEUED,  # pulling the image: @timeout starts counting once it runs
    "RUNNING": RUNNING,
    "SUCCEEDED": DONE,
    "FAILED": DONE,
}


class BatchExecutor(RemoteExecutor):
    """Runs tasks as AWS Batch jobs.

    Args:
        ctx: The run; its datastore must be on S3.

    Raises:
        BatchConfigError: The datastore is not on S3, or no region is configured.
    """

    job_label = "Batch job"
    system_label = "AWS Batch"
    max_group = 10_000  # the largest array job Batch accepts
    max_active = 10_000

    def __init__(self, ctx: RunContext) -> None:
        settings = load_settings()
        self.batch_settings = SETTINGS.load()
        super().__init__(ctx, poll_min=1.0, poll_max=self.batch_settings.poll_interval)
        require_s3(ctx.store.storage.root, [])
        self.settings = settings
        self.api = BatchApi(settings, say=self._say)
        self._steps: dict[str, JobSettings] = {}
        self._code_sha: str | None = None

    @classmethod
    def preflight(cls, store: FlowDatastore, steps: dict[str, list[StepDecorator]]) -> None:
        """Refuse a local datastore, incomplete settings, credentials in the environment and
        missing queues — before the run is recorded."""
        require_s3(store.storage.root, list(steps))
        batch_settings = SETTINGS.load()
        queues = set()
        for step, decorators in steps.items():
            check_environment(step, decorators)
            queues.add(job_settings(step, decorators, batch_settings).queue)
        BatchApi(load_settings()).check_queues(sorted(queues))

    # -- primitives -------------------------------------------------------------------------

    def group_key(self, spec: TaskSpec) -> Hashable | None:
        return gang_key(spec) or (spec.step, spec.attempt)

    def launch_gang(self, specs: list[TaskSpec]) -> None:
        """Queue a ``@parallel`` gang; it is submitted as one multi-node job (``multinode``)."""
        for spec in specs:
            self.launch(spec)

    def submit(self, specs: list[TaskSpec]) -> list[Submission]:
        try:
            if gang_key(specs[0]) is not None:
                return submit_gang(self, specs)
            return self._submit(specs)
        except FlowkitError as exc:
            raise SubmitError(exc.message, hint=exc.hint) from exc

    def describe(self, jobs: list[Submission]) -> dict[str, JobReport]:
        return describe_nodes(self.api.describe, jobs, _report)

    def read_log(self, job: Submission, cursor: Any) -> tuple[list[str], Any]:
        assert job.log_stream is not None
        return self.api.log_lines(LOG_GROUP, job.log_stream, cursor)

    def terminate(self, jobs: list[Submission], reason: str, *, everything: bool) -> None:
        ids: dict[str, None] = {}
        for job in jobs:
            # Terminating an array job terminates its children: one call instead of thousands.
            whole = everything and job.group is not None
            job_id = whole_job(job.job_id)  # a node of a multi-node job: the whole job
            ids[job_id.rpartition(":")[0] if whole and ":" in job_id else job_id] = None
        for job_id in ids:
            self.api.terminate(job_id, reason)

    # -- submission -------------------------------------------------------------------------

    def _config(self, step: str) -> JobSettings:
        if step not in self._steps:
            decorators = self.ctx.decorators.get(step, [])
            self._steps[step] = job_settings(step, decorators, self.batch_settings)
        return self._steps[step]

    def _code(self) -> str:
        if self._code_sha is None:
            self._code_sha = self.ctx.store.run_record(self.ctx.run_id).code_sha
            if not self._code_sha:
                raise BatchConfigError(
                    f"run {self.ctx.flow_name}/{self.ctx.run_id} has no code snapshot, which a "
                    "Batch job needs to run its task",
                    hint="start the run with `python FLOW.py run`, which stores one",
                )
        return self._code_sha

    def _plan(self, argvs: list[list[str]]) -> str:
        """Store the tasks' ``step`` arguments where the job's bootstrap will find them."""
        return self.ctx.store.content.put([json.dumps({"argv": argvs}).encode()])

    def _submit(self, specs: list[TaskSpec]) -> list[Submission]:
        ctx, first = self.ctx, specs[0]
        config = self._config(first.step)
        flow_file = ctx.flow_file.name if ctx.flow_file else f"{ctx.flow_name}.py"
        # ``--with`` values (an @environment secret, say) go in the job's command, which is not
        # stored in the datastore; each task's own arguments may go in the stored plan.
        argvs = [spec_to_args(ctx, spec, with_specs=False) for spec in specs]
        shared = [arg for spec in ctx.with_specs for arg in ("--with", spec)]
        single = len(specs) == 1
        plan = None if single and fits_inline(argvs[0] + shared) else self._plan(argvs)
        command = bootstrap_command(
            ctx.flow_name, self._code(), flow_file, argv=argvs[0], plan=plan, shared=shared
        )
        environment = job_environment(
            ctx.store.storage.root,
            ctx.flow_name,
            ctx.run_id,
            first,
            ctx.decorators.get(first.step, []),
            task_id=first.task_id if single else None,
            region=self.api.region,
        )
        tail = first.task_id if single else f"{first.task_id}-to-{specs[-1].task_id}"
        name = job_name(ctx.flow_name, ctx.run_id, first.step, tail, f"a{first.attempt}")
        definition = self.api.ensure_definition(definition_body(config))
        request = submit_request(name, config.queue, definition, ctx.flow_name, ctx.run_id, first)
        request["containerOverrides"] = {"command": command, "environment": environment}
        if single:
            return [Submission(first, self.api.submit(**request), name)]
        request["arrayProperties"] = {"size": len(specs)}
        array_id = self.api.submit(**request)
        group = f"Batch array job {name} ({array_id}, queue {config.queue})"
        return [
            Submission(spec, f"{array_id}:{index}", f"{name}:{index}", group)
            for index, spec in enumerate(specs)
        ]


def _report(job: dict[str, Any]) -> JobReport:
    """A :class:`JobReport` from one entry of DescribeJobs."""
    state = str(job.get("status", "SUBMITTED"))
    container = dict(job.get("container") or {})
    attempts = job.get("attempts") or []
    last = dict(attempts[-1].get("container") or {}) if attempts else {}
    status_reason = str(job.get("statusReason") or "")
    reasons = [status_reason, str(container.get("reason") or last.get("reason") or "")]
    exit_code = container.get("exitCode", last.get("exitCode"))
    return JobReport(
        state=state,
        phase=_PHASES.get(state, QUEUED),
        succeeded=state == "SUCCEEDED",
        reason="; ".join(r for r in reasons if r),
        exit_code=int(exit_code) if exit_code is not None else None,
        # Batch's words when it stops a job at its attemptDurationSeconds.
        timed_out="duration exceeded timeout" in status_reason.lower(),
        log_stream=container.get("logStreamName") or last.get("logStreamName"),
    )
