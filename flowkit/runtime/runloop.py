"""The run loop: starts ready tasks, commits ended ones, retries, and stops on failure.

:class:`RunLoop` drives one run once :class:`~flowkit.runtime.runner.Runner` has claimed it and
set up its executor, committer and scheduler: it launches (or clones) the tasks that are ready,
hands every ended task to the committer, and only once a task's manifest is stored lets the
tasks after it start. A failed task is retried, caught by ``@catch`` or recorded as the run's
failure; a write the datastore refused stops the whole run (:class:`StorageFailure`).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from typing import Any

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import Failure, TaskManifest
from flowkit.errors import DatastoreError, FlowkitError
from flowkit.runtime.committer import Commit, Committer
from flowkit.runtime.executor import TaskOutcome
from flowkit.runtime.gang import is_gang_task, start_gang, stop_peers
from flowkit.runtime.heartbeat import Heartbeat
from flowkit.runtime.interrupts import RunSignals
from flowkit.runtime.policy import FailurePolicy
from flowkit.runtime.pool import ExecutorPool
from flowkit.runtime.progress import warn
from flowkit.runtime.resume import ResumePlan
from flowkit.runtime.scheduler import ReadyQueue, Scheduler
from flowkit.runtime.spec import TaskSpec

__all__ = ["RunLoop", "RunSummary", "StorageFailure", "error_text"]

#: While commits are in flight, how often the loop looks for ended ones between task exits.
_COMMIT_POLL_S = 0.005


class StorageFailure(Exception):
    """A write the run needs was refused; ``str()`` says what, of which task, and where.

    Attributes:
        hint: The datastore's own advice (e.g. "check that the server is running"), if any.
    """

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.hint = cause.hint if isinstance(cause, FlowkitError) else ""


def error_text(exc: BaseException) -> str:
    """What went wrong, for a message: a :class:`FlowkitError`'s message without its hint."""
    return exc.message if isinstance(exc, FlowkitError) else str(exc)


def _message(failure: Failure | None) -> str:
    return failure.message if failure is not None else "failed"


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
    stopped_by: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON form, for the run's end record."""
        totals: dict[str, Any] = {
            "tasks_ran": self.ran,
            "tasks_cloned": self.cloned,
            "retries": self.retries,
            "failed_tasks": [m.pathspec for m in self.failed],
            "seconds": round(self.seconds, 3),
        }
        if self.stopped_by:
            totals["stopped_by"] = self.stopped_by
        return totals


class RunLoop:
    """Walks one claimed run's DAG to the end, or until a failure stops it.

    Args:
        store: The flow's datastore.
        executor: Starts the tasks.
        committer: Stores each ended task's logs and manifest.
        scheduler: Says which tasks a committed task makes ready.
        ready: The tasks ready to start, the run's first task in it.
        summary: Updated with what happened.
        plan: When resuming, which tasks are cloned from the origin run.
        policy: Timeouts, retries and ``@catch`` of each step.
        heartbeat: The run's lease, renewed as the loop goes.
        signals: A noted Ctrl-C, SIGTERM or SIGHUP is raised from the loop.
    """

    def __init__(
        self,
        store: FlowDatastore,
        executor: ExecutorPool,
        committer: Committer,
        scheduler: Scheduler,
        ready: ReadyQueue,
        summary: RunSummary,
        plan: ResumePlan | None,
        policy: FailurePolicy,
        heartbeat: Heartbeat,
        signals: RunSignals,
    ) -> None:
        self.store = store
        self.executor = executor
        self.committer = committer
        self.scheduler = scheduler
        self.ready = ready
        self.summary = summary
        self.plan = plan
        self.policy = policy
        self.heartbeat = heartbeat
        self.signals = signals
        # retries, by due time: they hold no worker slot while they wait
        self.waiting: list[tuple[float, int, TaskSpec]] = []

    def run(self) -> None:
        """Run until no task is ready, running, waiting for a retry or being committed.

        Raises:
            StorageFailure: The datastore refused a write; the run must stop.
            Interrupted: A signal stopped the run.
        """
        executor, committer, ready, summary = (
            self.executor,
            self.committer,
            self.ready,
            self.summary,
        )
        plan, policy, heartbeat, signals = self.plan, self.policy, self.heartbeat, self.signals
        waiting = self.waiting
        while ready or executor.active or waiting or committer.pending:
            signals.check()
            heartbeat.beat()
            now = time.monotonic()
            while waiting and waiting[0][0] <= now:
                ready.append(heapq.heappop(waiting)[2])
            while ready and not summary.failed:
                spec = ready[0]
                origin = plan.origin_for(spec) if plan else None
                if origin is not None:  # cloned: no process, no worker slot
                    ready.popleft()
                    assert plan is not None
                    committer.submit(plan.clone(spec, origin, summary.run_id), {}, None)
                    signals.check()  # a long line of clones still stops on Ctrl-C
                    heartbeat.beat()
                elif is_gang_task(spec):
                    if not start_gang(executor, ready, spec, policy.timeout(spec.step), warn):
                        break
                elif executor.has_room(spec):
                    spec = ready.popleft()
                    spec.timeout = policy.timeout(spec.step)
                    executor.launch(spec)
                else:
                    break
            wait = min(1.0, waiting[0][0] - now) if waiting else 1.0
            if committer.pending and not executor.active:
                commits = committer.finished(timeout=max(0.0, wait))
            else:
                if committer.pending:  # a commit ending may let tasks start: look again soon
                    wait = min(wait, _COMMIT_POLL_S)
                for outcome in executor.poll(timeout=max(0.0, wait)):
                    write = not outcome.committed
                    committer.submit(outcome.manifest, outcome.logs, outcome, write=write)
                commits = committer.finished()
            for commit in commits:
                # Only now, with the task's manifest stored, may the tasks after it start.
                if isinstance(commit.tag, TaskOutcome):
                    self._task_committed(commit)
                else:
                    self._clone_committed(commit)
                heartbeat.beat()
            if summary.failed:
                waiting.clear()  # the run has failed: pending retries would not change that
                if not executor.active and not committer.pending:
                    return

    def _clone_committed(self, commit: Commit) -> None:
        if commit.error is not None:
            failure = (
                f"could not store the manifest of cloned task {commit.manifest.pathspec}: "
                f"{error_text(commit.error)}"
            )
            raise StorageFailure(failure, commit.error)
        self.summary.cloned += 1
        self.ready.extend(self.scheduler.done(commit.manifest))

    def _task_committed(self, commit: Commit) -> None:
        summary, ready, scheduler, executor = (
            self.summary,
            self.ready,
            self.scheduler,
            self.executor,
        )
        outcome: TaskOutcome = commit.tag
        manifest = self._commit_or_stop(commit)
        summary.ran += 1
        if manifest.status == "succeeded":
            ready.extend(scheduler.done(manifest))
            return
        decision = self.policy.decide(outcome.spec, manifest)
        if decision.retry is not None:
            summary.retries += 1
            warn(
                f"flowkit: task {manifest.pathspec} failed (attempt {manifest.attempt}); "
                f"retrying in {decision.delay:g} s"
            )
            due = time.monotonic() + decision.delay
            heapq.heappush(self.waiting, (due, summary.retries, decision.retry))
        elif decision.caught is not None:
            self._write(self.store.write_manifest, decision.caught, "the manifest of task")
            var = decision.caught.caught
            exc = manifest.failure
            what = f"{exc.type}: {exc.message}" if exc else "an error"
            warn(
                f"flowkit: task {manifest.pathspec} failed with {what}; "
                f"@catch stored it in self.{var} and the flow goes on"
            )
            ready.extend(scheduler.done(decision.caught))
        else:
            summary.failed.append(manifest)
            if is_gang_task(outcome.spec):
                stop_peers(executor, outcome.spec, manifest, warn)
            elif executor.active:
                warn(
                    f"flowkit: task {manifest.pathspec} failed; waiting for "
                    f"{executor.active} running task(s) to finish (Ctrl-C stops them)"
                )

    def _commit_or_stop(self, commit: Commit) -> TaskManifest:
        """Check a task's commit; raise :class:`StorageFailure` when the datastore refused
        the task's results or its commit, which stops the whole run."""
        manifest = commit.manifest
        exc = manifest.failure
        # A failure of kind "storage": the datastore refused the task's results; the run stops.
        refused = manifest.status != "succeeded" and exc is not None and exc.kind == "storage"
        if commit.error is not None:
            self.summary.failed.append(manifest)
            if refused:  # what the task saw is the cause; its commit failing too is no news
                raise StorageFailure(f"task {manifest.pathspec}: {_message(exc)}") from None
            if not isinstance(commit.error, (DatastoreError, OSError)):
                raise commit.error  # a bug of ours in the commit process: not a storage problem
            raise StorageFailure(
                f"could not commit task {manifest.pathspec} (its logs and manifest): "
                f"{error_text(commit.error)}",
                commit.error,
            ) from None
        if refused:
            self.summary.failed.append(manifest)
            raise StorageFailure(f"task {manifest.pathspec}: {_message(exc)}")
        return manifest

    def _write(self, write: Any, manifest: TaskManifest, what: str) -> None:
        try:
            write(manifest)
        except (DatastoreError, OSError) as exc:
            failure = f"could not store {what} {manifest.pathspec}: {error_text(exc)}"
            raise StorageFailure(failure, exc) from None
