"""Runs a whole flow: records the run, walks the DAG with an executor, commits every task."""

from __future__ import annotations

import heapq
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowkit.datastore.codesnap import build_snapshot
from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import ArtifactRef, RunRecord, TaskManifest
from flowkit.decorators.base import StepDecorator
from flowkit.dsl.flowspec import FlowSpec
from flowkit.errors import RunFailed, RunKilled
from flowkit.graph.model import FlowGraph
from flowkit.graph.parser import display_path
from flowkit.registry import registry
from flowkit.runtime.commit import commit_task
from flowkit.runtime.executor import TaskOutcome
from flowkit.runtime.local import ForkExecutor, ProcessExecutor
from flowkit.runtime.policy import FailurePolicy
from flowkit.runtime.pool import LOCAL, ExecutorPool
from flowkit.runtime.resume import ResumePlan
from flowkit.runtime.scheduler import ReadyQueue, Scheduler
from flowkit.runtime.spec import TaskSpec
from flowkit.runtime.task import RunContext


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


@dataclass
class RunSummary:
    """What happened in a run, printed at its end and stored with it."""

    run_id: str
    status: str = "running"
    ran: int = 0
    cloned: int = 0
    retries: int = 0
    failed: list[TaskManifest] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON form, for the run's end record."""
        return {
            "tasks_ran": self.ran,
            "tasks_cloned": self.cloned,
            "retries": self.retries,
            "failed_tasks": [m.pathspec for m in self.failed],
            "seconds": round(self.seconds, 3),
        }


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
        with_specs: The ``--with`` values, passed on to tasks started in fresh interpreters.
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
        with_specs: tuple[str, ...] = (),
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
        self.with_specs = with_specs

    def _snapshot(self) -> str:
        snapshot = build_snapshot(self.flow_file, warn_mb=self.snapshot_warn_mb)
        for warning in snapshot.warnings:
            _say(f"flowkit: warning: {warning}")
        return self.store.content.put([snapshot.data])

    def create_run(
        self,
        refs: dict[str, ArtifactRef],
        printable: dict[str, str],
        origin_run_id: str | None = None,
    ) -> str:
        """Store the code snapshot and the run's start record; return the new run id."""
        record = RunRecord(
            flow=self.graph.name,
            run_id="",
            created_at=time.time(),
            user=self.user,
            tags=sorted(set(self.tags)),
            parameters=refs,
            parameter_values=printable,
            code_sha=self._snapshot(),
            flow_file=str(self.flow_file),
            origin_run_id=origin_run_id,
        )
        return self.store.new_run(record)

    def run(self, params: dict[str, Any]) -> RunSummary:
        """Run the flow from start to end.

        Raises:
            RunFailed: A task failed (the run is recorded as failed).
            RunKilled: The user interrupted the run (recorded as killed).
        """
        self.preflight()
        refs = self.store.save_artifacts(params) if params else {}
        run_id = self.create_run(refs, {k: _short(v) for k, v in params.items()})
        return self._execute(run_id, refs, None)

    def resume(self, plan: ResumePlan) -> RunSummary:
        """Run the flow again, cloning the origin run's tasks that ``plan`` allows.

        The parameters are the origin run's, by reference.
        """
        self.preflight()
        origin = plan.origin
        run_id = self.create_run(origin.parameters, origin.parameter_values, origin.run_id)
        return self._execute(run_id, dict(origin.parameters), plan)

    def _execute(
        self, run_id: str, refs: dict[str, ArtifactRef], plan: ResumePlan | None
    ) -> RunSummary:
        started = time.monotonic()
        root = self.store.storage.root.removeprefix("file://")
        origin = f", resuming {plan.origin.pathspec}" if plan else ""
        _say(f"Run {self.graph.name}/{run_id} started{origin} (datastore: {root})")
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
        )
        scheduler = Scheduler(self.graph, refs, self.store)
        summary = RunSummary(run_id)
        executor = ExecutorPool(
            self.executor_cls(ctx),
            self.max_workers,
            self._executor_name,
            lambda name: registry().get("executor", name)(ctx),
        )
        for step, decorators in self.decorators.items():
            for deco in decorators:
                deco.runtime_init(
                    step,
                    lambda text: _say(f"flowkit: warning: {text}"),
                    executor=self._executor_name(step),
                )
        try:
            self._loop(
                executor,
                scheduler,
                ReadyQueue(scheduler.start()),
                summary,
                plan,
                FailurePolicy(ctx),
            )
        except KeyboardInterrupt:
            for outcome in executor.cancel_all():
                self._commit(outcome)
            summary.status = "killed"
            summary.seconds = time.monotonic() - started
            self.store.finish_run(run_id, "killed", summary=summary.as_dict())
            raise RunKilled(
                f"run {self.graph.name}/{run_id} was interrupted; every running task was stopped",
                hint=f"resume it with: python {self._flow_path} resume",
            ) from None
        finally:
            executor.close()
        for step, decorators in self.decorators.items():
            for deco in decorators:
                deco.runtime_finished(step)
        summary.seconds = time.monotonic() - started
        summary.status = "failed" if summary.failed else "succeeded"
        self.store.finish_run(run_id, summary.status, summary=summary.as_dict())  # type: ignore[arg-type]
        if summary.failed:
            raise self._failure(summary)
        _say(
            f"Run {self.graph.name}/{run_id} succeeded: {summary.ran} tasks ran"
            + (f", {summary.cloned} cloned" if plan else "")
            + f" in {summary.seconds:.2f} s"
        )
        return summary

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

    def _loop(
        self,
        executor: ExecutorPool,
        scheduler: Scheduler,
        ready: ReadyQueue,
        summary: RunSummary,
        plan: ResumePlan | None,
        policy: FailurePolicy,
    ) -> None:
        waiting: list[tuple[float, int, TaskSpec]] = []  # retries, by due time: no worker slot
        while ready or executor.active or waiting:
            now = time.monotonic()
            while waiting and waiting[0][0] <= now:
                ready.append(heapq.heappop(waiting)[2])
            while ready and not summary.failed:
                spec = ready[0]
                origin = plan.origin_for(spec) if plan else None
                if origin is not None:  # cloned: no process, no worker slot
                    ready.popleft()
                    assert plan is not None
                    clone = plan.clone(spec, origin, summary.run_id)
                    self.store.write_manifest(clone)
                    summary.cloned += 1
                    ready.extend(scheduler.done(clone))
                elif executor.has_room(spec):
                    spec = ready.popleft()
                    spec.timeout = policy.timeout(spec.step)
                    executor.launch(spec)
                else:
                    break
            wait = min(1.0, waiting[0][0] - now) if waiting else 1.0
            for outcome in executor.poll(timeout=max(0.0, wait)):
                manifest = self._commit(outcome)
                summary.ran += 1
                if manifest.status == "succeeded":
                    ready.extend(scheduler.done(manifest))
                    continue
                decision = policy.decide(outcome.spec, manifest)
                if decision.retry is not None:
                    summary.retries += 1
                    _say(
                        f"flowkit: task {manifest.pathspec} failed (attempt {manifest.attempt}); "
                        f"retrying in {decision.delay:g} s"
                    )
                    due = time.monotonic() + decision.delay
                    heapq.heappush(waiting, (due, summary.retries, decision.retry))
                elif decision.caught is not None:
                    self.store.write_manifest(decision.caught)
                    var = decision.caught.extra.get("caught")
                    exc = manifest.exception or {}
                    _say(
                        f"flowkit: task {manifest.pathspec} failed with {exc.get('type')}: "
                        f"{exc.get('message')}; @catch stored it in self.{var} and the flow goes on"
                    )
                    ready.extend(scheduler.done(decision.caught))
                else:
                    summary.failed.append(manifest)
                    if executor.active:
                        _say(
                            f"flowkit: task {manifest.pathspec} failed; waiting for "
                            f"{executor.active} running task(s) to finish (Ctrl-C stops them)"
                        )
            if summary.failed:
                waiting.clear()  # the run has failed: pending retries would not change that
                if not executor.active:
                    return

    def _commit(self, outcome: TaskOutcome) -> TaskManifest:
        """Store the task's logs, then its manifest: the manifest is the commit point."""
        if not outcome.committed:
            commit_task(self.store, outcome.manifest, outcome.logs)
        return outcome.manifest

    def _failure(self, summary: RunSummary) -> RunFailed:
        first = summary.failed[0]
        exc = first.exception or {}
        detail = (exc.get("traceback") or exc.get("message") or "").rstrip()
        others = len(summary.failed) - 1
        more = f" ({others} more task(s) failed too)" if others else ""
        counts = f"{summary.ran} tasks ran" + (
            f", {summary.cloned} cloned" if summary.cloned else ""
        )
        return RunFailed(
            f"run {self.graph.name}/{summary.run_id} failed ({counts}): task {first.pathspec} "
            f"raised {exc.get('type', 'an error')}{more}.\n{detail}\n"
            f"After fixing the cause, resume with: python {self._flow_path} resume"
        )
