"""Runs a whole flow: records the run, walks the DAG with an executor, commits every task.

The walk itself (launching, committing, retrying) is :class:`~flowkit.runtime.runloop.RunLoop`;
this module sets a run up, claims it, and records how it ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowkit.catalog.travel import RunCatalog
from flowkit.datastore.codesnap import build_snapshot
from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import ArtifactRef, CatalogChoice, RunRecord
from flowkit.decorators.base import FlowDecorator, StepDecorator
from flowkit.dsl.flowspec import FlowSpec
from flowkit.errors import DatastoreError, RunFailed, RunKilled, RunStorageFailed
from flowkit.graph.model import FlowGraph
from flowkit.registry import registry
from flowkit.runtime.committer import Committer, open_committer
from flowkit.runtime.executor import TaskOutcome
from flowkit.runtime.heartbeat import Heartbeat
from flowkit.runtime.interrupts import Interrupted, RunSignals, signal_name
from flowkit.runtime.local import ForkExecutor, ProcessExecutor
from flowkit.runtime.policy import FailurePolicy
from flowkit.runtime.pool import LOCAL, ExecutorPool
from flowkit.runtime.progress import say, warn
from flowkit.runtime.resume import ResumePlan
from flowkit.runtime.runloop import RunLoop, RunSummary, StorageFailure, error_text
from flowkit.runtime.scheduler import DEFAULT_MAX_LOOP_ITERATIONS, ReadyQueue, Scheduler
from flowkit.runtime.task import RunContext
from flowkit.user_paths import display_path


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


class Runner:
    """Executes one run of a flow on the local machine.

    Args:
        flow_cls: The flow class.
        graph: Its checked graph.
        store: The flow's datastore.
        max_workers: How many tasks may run at once.
        flow_file: The flow's file (snapshotted with the code around it).
        tags: Tags recorded with the run.
        snapshot_warn_mb: Warn when the code snapshot exceeds this size.
        executor_cls: How tasks are started (forked workers by default).
        user: Who started the run.
        decorators: Each step's decorators (declared and ``--with``), already validated.
        flow_decorators: The flow class's decorators, already validated (``flow_init``).
        with_specs: The ``--with`` values, passed on to tasks started in fresh interpreters.
        heartbeat_interval: Seconds between two renewals of the run's lease.
        heartbeat_expiry: Seconds a renewal keeps the run from being shown as ``lost``.
        system_tags: Tags recorded with the run that users cannot change (``@project``'s).
        run_started: Called with the new run's id as soon as it is claimed (before any task
            runs), e.g. to tell a program that launched this runner which run it is.
        max_loop_iterations: Most passes a step inside a loop makes per foreach split.

    Attributes:
        run_id: The id of the run being (or last) executed; ``None`` until its start record
            is written.
    """

    def __init__(
        self,
        flow_cls: type[FlowSpec],
        graph: FlowGraph,
        store: FlowDatastore,
        *,
        max_workers: int,
        flow_file: Path,
        tags: tuple[str, ...] = (),
        snapshot_warn_mb: float = 10.0,
        executor_cls: type[ProcessExecutor] = ForkExecutor,
        user: str = "",
        decorators: dict[str, list[StepDecorator]] | None = None,
        flow_decorators: list[FlowDecorator] | None = None,
        with_specs: tuple[str, ...] = (),
        heartbeat_interval: float = 5.0,
        heartbeat_expiry: float = 60.0,
        system_tags: tuple[str, ...] = (),
        run_started: Callable[[str], None] | None = None,
        max_loop_iterations: int = DEFAULT_MAX_LOOP_ITERATIONS,
    ) -> None:
        self.flow_cls = flow_cls
        self.graph = graph
        self.store = store
        self.max_workers = max(1, max_workers)
        self.flow_file = flow_file
        self.tags = tags
        self.snapshot_warn_mb = snapshot_warn_mb
        self.executor_cls = executor_cls
        self.user = user
        self.decorators = decorators or {}
        self.flow_decorators = flow_decorators or []
        self.with_specs = with_specs
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_expiry = heartbeat_expiry
        self.system_tags = system_tags
        self.run_id: str | None = None
        self.run_started = run_started
        self.max_loop_iterations = max_loop_iterations
        # The data catalog to record with the run (set by the CLI; see flowkit.catalog.travel).
        self.catalog: RunCatalog | None = None
        self._catalog_choice: CatalogChoice | None = None

    def _snapshot(self) -> str:
        snapshot = build_snapshot(self.flow_file, warn_mb=self.snapshot_warn_mb)
        for warning in snapshot.warnings:
            warn(f"flowkit: warning: {warning}")
        return self.store.content.put([snapshot.data])

    def create_run(
        self,
        refs: dict[str, ArtifactRef],
        printable: dict[str, str],
        origin_run_id: str | None = None,
        resume_step: str | None = None,
    ) -> str:
        """Store the code snapshot and the run's start record; return the new run id."""
        return self.store.new_run(
            self._start_record(refs, printable, origin_run_id, resume_step, self._snapshot())
        )

    def _start_record(
        self,
        refs: dict[str, ArtifactRef],
        printable: dict[str, str],
        origin_run_id: str | None,
        resume_step: str | None,
        code_sha: str,
    ) -> RunRecord:
        self._catalog_choice = self.catalog.store(self.store) if self.catalog else None
        return RunRecord(
            flow=self.graph.name,
            run_id="",
            created_at=time.time(),
            user=self.user,
            tags=sorted(set(self.tags)),
            system_tags=sorted(set(self.system_tags)),
            parameters=refs,
            parameter_values=printable,
            code_sha=code_sha,
            flow_file=str(self.flow_file),
            origin_run_id=origin_run_id,
            resume_step=resume_step,
            environment_sha=self.store.record_environment(),
            catalog=self._catalog_choice,
        )

    def run(self, params: dict[str, Any]) -> RunSummary:
        """Run the flow from start to end.

        Raises:
            RunFailed: A task failed (the run is recorded as failed).
            RunStorageFailed: The datastore refused a write (recorded as failed if it could be).
            RunKilled: Ctrl-C, SIGTERM or SIGHUP stopped the run (recorded as killed).
        """
        self.preflight()
        refs = self.store.save_artifacts(params) if params else {}
        printable = {k: _short(v) for k, v in params.items()}
        record = self._start_record(refs, printable, None, None, self._snapshot())
        # From the start record on, a signal is noted and acted on by the main loop.
        with RunSignals() as signals:
            return self._execute(self._claim(record), refs, None, signals)

    def resume(self, plan: ResumePlan) -> RunSummary:
        """Run the flow again, cloning the origin run's tasks that ``plan`` allows.

        The parameters are the origin run's, by reference.
        """
        self.preflight()
        origin = plan.origin
        record = self._start_record(
            origin.parameters,
            origin.parameter_values,
            origin.run_id,
            plan.from_step,
            self._snapshot(),
        )
        with RunSignals() as signals:
            return self._execute(self._claim(record), dict(origin.parameters), plan, signals)

    def _claim(self, record: RunRecord) -> str:
        """Store the start record under a new run id and tell ``run_started`` about it."""
        run_id = self.store.new_run(record)
        if self.run_started is not None:
            self.run_started(run_id)
        return run_id

    def _execute(
        self,
        run_id: str,
        refs: dict[str, ArtifactRef],
        plan: ResumePlan | None,
        signals: RunSignals,
    ) -> RunSummary:
        started = time.monotonic()
        self.run_id = run_id
        summary = RunSummary(run_id)
        heartbeat = Heartbeat(self.store, run_id, self.heartbeat_interval, self.heartbeat_expiry)
        executor: ExecutorPool | None = None
        committer: Committer | None = None
        try:  # from here on, whatever happens is recorded in the run's end record
            heartbeat.beat()
            # Before any task is forked (see flowkit.runtime.committer for why).
            committer = open_committer(self.store)
            root = self.store.storage.root.removeprefix("file://")
            origin = f", resuming {plan.origin.pathspec}" if plan else ""
            say(f"Run {self.graph.name}/{run_id} started{origin} (datastore: {root})")
            ctx = RunContext(
                self.flow_cls,
                self.graph,
                self.store,
                run_id,
                user=self.user,
                tags=self.tags,
                origin_run_id=plan.origin.run_id if plan else None,
                flow_file=self.flow_file,
                decorators=self.decorators,
                with_specs=self.with_specs,
                system_tags=self.system_tags,
                catalog=self._catalog_choice,
            )
            remote = self.store.storage.concurrency > 1
            forks = remote and issubclass(self.executor_cls, ForkExecutor)
            scheduler = Scheduler(
                self.graph,
                refs,
                self.store,
                self.max_loop_iterations,
                preload=lambda step: forks and self._executor_name(step) == LOCAL,
            )
            executor = ExecutorPool(
                self.executor_cls(ctx),
                self.max_workers,
                self._executor_name,
                lambda name: registry().get("executor", name)(ctx),
            )
            # flow decorators wrap the run: first to start, last to finish
            for flow_deco in self.flow_decorators:
                flow_deco.runtime_init(lambda text: warn(f"flowkit: warning: {text}"))
            for step, decorators in self.decorators.items():
                for deco in decorators:
                    deco.runtime_init(
                        step,
                        lambda text: warn(f"flowkit: warning: {text}"),
                        executor=self._executor_name(step),
                    )
            RunLoop(
                self.store,
                executor,
                committer,
                scheduler,
                ReadyQueue(scheduler.start()),
                summary,
                plan,
                FailurePolicy(ctx),
                heartbeat,
                signals,
            ).run()
            signals.check()  # a signal that came during the last pass still stops the run
            signals.stopping()  # from here on a signal cannot cut the end record short
            for step, decorators in self.decorators.items():
                for deco in decorators:
                    deco.runtime_finished(step)
            for flow_deco in reversed(self.flow_decorators):
                flow_deco.runtime_finished()
        except (Interrupted, KeyboardInterrupt) as exc:
            signals.stopping()
            number = exc.signal_number if isinstance(exc, Interrupted) else 2
            stopped = self._stop(executor, committer)
            summary.stopped_by = signal_name(number)
            problem = self._record_end(summary, "killed", started)
            raise RunKilled(
                f"run {self.graph.name}/{run_id} was interrupted ({signal_name(number)})"
                f"{stopped}{problem}",
                hint=f"resume it with: python {self._flow_path} resume",
                signal_number=number,
            ) from None
        except StorageFailure as exc:
            signals.stopping()
            stopped = self._stop(executor, committer)
            summary.stopped_by = f"datastore write error: {exc}"
            problem = self._record_end(summary, "failed", started)
            recorded = problem or "; the run is recorded as failed"
            advice = exc.hint.rstrip(". ") or (
                "make the datastore writable again (free space, permissions, the storage service)"
            )
            raise RunStorageFailed(
                f"run {self.graph.name}/{run_id} stopped: {exc}{stopped}{recorded}",
                hint=f"{advice}; then resume with: python {self._flow_path} resume",
            ) from None
        except BaseException as exc:  # an error of ours or of a plugin: still record the run
            signals.stopping()
            self._stop(executor, committer)
            summary.stopped_by = f"{type(exc).__name__}: {exc}"
            self._record_end(summary, "failed", started)
            raise
        finally:
            if executor is not None:
                executor.close()
            if committer is not None:
                committer.close()
        status = "failed" if summary.failed else "succeeded"
        problem = self._record_end(summary, status, started)
        if problem:
            raise RunStorageFailed(
                f"run {self.graph.name}/{run_id} finished ({status}){problem}",
                hint="make the datastore writable again (free space, permissions, the storage "
                "service); the tasks' results that were stored are kept",
            )
        if summary.failed:
            raise self._failure(summary)
        say(
            f"Run {self.graph.name}/{run_id} succeeded: {summary.ran} tasks ran"
            + (f", {summary.cloned} cloned" if plan else "")
            + f" in {summary.seconds:.2f} s"
        )
        return summary

    def _stop(self, executor: ExecutorPool | None, committer: Committer | None) -> str:
        """Stop every running task, let every commit end (the stopped tasks' too, where they can
        be stored); return a note for the message."""
        count = executor.active if executor is not None else 0
        note = ""
        stopped: list[TaskOutcome] = []
        if count:
            assert executor is not None
            try:
                stopped = executor.cancel_all()
            except Exception as exc:  # the run is going down anyway: say so, record the run
                note = f" (stopping {count} running task(s) failed: {error_text(exc)})"
        if committer is None:
            return note
        for outcome in stopped:
            committer.submit(outcome.manifest, outcome.logs, outcome, write=not outcome.committed)
        # The end record is written only once no commit is in flight any more.
        ours = {id(outcome) for outcome in stopped}
        lost = sum(1 for c in committer.drain() if c.error is not None and id(c.tag) in ours)
        if note or not count:
            return note
        note = f"; {count} running task(s) were stopped"
        return note + (f" ({lost} could not be recorded)" if lost else "")

    def _record_end(self, summary: RunSummary, status: str, started: float) -> str:
        """Write the run's end record; return ``""``, or what went wrong for the message."""
        summary.status = status
        summary.seconds = time.monotonic() - started
        try:
            self.store.finish_run(summary.run_id, status, summary=summary.as_dict())  # type: ignore[arg-type]
        except (DatastoreError, OSError) as exc:
            return (
                f"; recording the run as {status} failed too ({error_text(exc)}), so it will show "
                f"as lost once its lease expires"
            )
        return ""

    def preflight(self) -> None:
        """Let every executor the flow uses refuse the run before anything is recorded.

        Raises:
            FlowkitError: An executor cannot serve its steps (e.g. AWS Batch with a local
                datastore), or its plugin cannot be loaded.
        """
        by_executor: dict[str, dict[str, list[StepDecorator]]] = {}
        for step, decorators in self.decorators.items():
            name = self._executor_name(step)
            if name != LOCAL:
                by_executor.setdefault(name, {})[step] = decorators
        for name, steps in by_executor.items():
            registry().get("executor", name).preflight(self.store, steps)

    @property
    def _flow_path(self) -> str:
        """The flow file as the user would type it from the current folder."""
        return display_path(str(self.flow_file))

    def _executor_name(self, step: str) -> str:
        names = [n for d in self.decorators.get(step, []) if (n := d.executor_name())]
        return names[0] if names else LOCAL

    def _failure(self, summary: RunSummary) -> RunFailed:
        first = summary.failed[0]
        exc = first.failure
        detail = ((exc.traceback or exc.message) if exc else "").rstrip()
        others = len(summary.failed) - 1
        more = f" ({others} more task(s) failed too)" if others else ""
        counts = f"{summary.ran} tasks ran" + (
            f", {summary.cloned} cloned" if summary.cloned else ""
        )
        return RunFailed(
            f"run {self.graph.name}/{summary.run_id} failed ({counts}): task {first.pathspec} "
            f"raised {exc.type if exc else 'an error'}{more}.\n{detail}\n"
            f"After fixing the cause, resume with: python {self._flow_path} resume"
        )
