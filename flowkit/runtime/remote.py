"""Executors that hand tasks to a remote job system and watch them from the runner.

A remote executor (AWS Batch, in ``flowkit_batch``) implements four primitives — submit a group
of tasks, describe jobs, read a job's new log lines, terminate jobs — and this base does the
rest, the same way for every backend:

* ``launch`` only queues a task; ``poll`` submits what is queued, grouped as the backend asks
  (a foreach fans out as one array job), so the runner's loop never waits on a submission;
* job states are checked with backoff — every ``poll_min`` seconds while something changes,
  slowing down to ``poll_max`` while nothing does — and every change is printed;
* the task's log lines are echoed with the same ``[run/step/task] `` prefix as local tasks;
* ``@timeout`` is enforced from here as well, so a limit the backend cannot express (AWS Batch
  accepts nothing under 60 s) still holds;
* a finished job's outcome is the manifest the task committed to the datastore itself, or —
  when the job died before committing — a failure manifest that says why: the backend's
  reason, the exit code and the last lines of the job's log;
* ``cancel_all`` terminates every job that has not finished.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from abc import abstractmethod
from collections import Counter, deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from flowkit.datastore.manifest import FailureKind
from flowkit.errors import FlowkitError, RunNotFound
from flowkit.runtime.executor import Executor, TaskOutcome
from flowkit.runtime.local import failure_manifest
from flowkit.runtime.output import StreamCapture
from flowkit.runtime.progress import say
from flowkit.runtime.spec import TaskSpec
from flowkit.runtime.task import RunContext

#: Phases every backend state maps to.
QUEUED, RUNNING, DONE = "queued", "running", "done"
_TAIL_LINES = 20
_BACKOFF = 1.5


class SubmitError(FlowkitError):
    """The backend refused to take a group of tasks; each of them fails with this message."""


@dataclass
class JobReport:
    """What the backend says about one job.

    Attributes:
        state: The backend's own name for the state (``"RUNNABLE"``), printed as is.
        phase: :data:`QUEUED`, :data:`RUNNING` or :data:`DONE`.
        succeeded: For a finished job, whether it succeeded.
        reason: Why it stopped, in the backend's words.
        exit_code: The exit code of the job's process, when known.
        timed_out: The backend stopped the job for running longer than its limit.
        log_stream: Where its log lines are, once the backend knows.
    """

    state: str
    phase: str
    succeeded: bool = False
    reason: str = ""
    exit_code: int | None = None
    timed_out: bool = False
    log_stream: str | None = None


@dataclass
class Submission:
    """A task handed to the backend, and the job that runs it.

    Attributes:
        spec: The task attempt.
        job_id: The backend's id of the job.
        name: The job's name.
        group: A label for the group the job was submitted with (an array job), or ``None``
            for a job of its own; state changes of a group are printed as one summary.
        log_stream: Set from the job's reports, for :meth:`RemoteExecutor.read_log`.
    """

    spec: TaskSpec
    job_id: str
    name: str
    group: str | None = None
    log_stream: str | None = None


@dataclass
class _Job:
    sub: Submission
    capture: StreamCapture
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=_TAIL_LINES))
    report: JobReport = field(default_factory=lambda: JobReport("SUBMITTED", QUEUED))
    running_since: float | None = None
    stop_reason: str | None = None  # "timeout" or "cancel": we asked the backend to stop it
    log_cursor: Any = None
    drained: bool = False


class RemoteExecutor(Executor):
    """Shared machinery of executors whose tasks run as jobs of a remote system.

    Subclasses implement :meth:`submit`, :meth:`describe`, :meth:`read_log` and
    :meth:`terminate`, and may override :meth:`group_key`.

    Args:
        ctx: The run.
        poll_min: Seconds between state checks while states change.
        poll_max: Longest wait between two state checks.
        echo: Print log lines and state changes (off in tests that only look at outcomes).
        status_timeout: Seconds of failing state checks, one after another, after which the
            executor stops watching its jobs and fails their tasks; ``None``: the
            ``remote_status_timeout`` setting.
    """

    #: How jobs, and the system that runs them, are called in messages.
    job_label = "job"
    system_label = "the job system"
    #: Most tasks submitted as one group.
    max_group = 1
    #: Log reads per round, shared by all jobs (keeps under the log service's request quota).
    log_reads_per_round = 20

    def __init__(
        self,
        ctx: RunContext,
        *,
        poll_min: float = 1.0,
        poll_max: float = 10.0,
        echo: bool = True,
        status_timeout: float | None = None,
    ) -> None:
        if status_timeout is None:
            from flowkit.settings import load_settings

            status_timeout = load_settings().remote_status_timeout
        self.status_timeout = status_timeout
        self._failing_since: float | None = None  # when state checks started failing
        self.ctx = ctx
        self.poll_min = max(0.05, min(poll_min, poll_max))
        self.poll_max = max(self.poll_min, poll_max)
        self.echo = echo
        self._queued: list[TaskSpec] = []
        self._jobs: dict[str, _Job] = {}
        self._interval = self.poll_min
        self._next_check = 0.0
        self._next_logs = 0.0
        self._log_turn = 0
        self._groups: dict[str, Counter[str]] = {}
        self._failed_submits: list[TaskOutcome] = []

    # -- primitives ---------------------------------------------------------------------------

    def group_key(self, spec: TaskSpec) -> Hashable | None:
        """Tasks queued together with equal keys may be submitted as one group; None: alone."""
        return None

    @abstractmethod
    def submit(self, specs: list[TaskSpec]) -> list[Submission]:
        """Submit ``specs`` (one task, or a group with equal :meth:`group_key`).

        Raises:
            SubmitError: The backend refused them; the tasks fail with its message.
        """

    @abstractmethod
    def describe(self, jobs: list[Submission]) -> dict[str, JobReport]:
        """The current report of each job, by job id (jobs the backend does not know yet may
        be left out)."""

    @abstractmethod
    def read_log(self, job: Submission, cursor: Any) -> tuple[list[str], Any]:
        """The job's log lines written after ``cursor`` (``None`` at first), and the next cursor."""

    @abstractmethod
    def terminate(self, jobs: list[Submission], reason: str, *, everything: bool) -> None:
        """Ask the backend to stop ``jobs``; ``everything`` is set when the run is interrupted."""

    # -- the Executor interface ---------------------------------------------------------------

    @property
    def active(self) -> int:
        return len(self._queued) + len(self._jobs) + len(self._failed_submits)

    def launch(self, spec: TaskSpec) -> None:
        self._queued.append(spec)

    def poll(self, timeout: float) -> list[TaskOutcome]:
        end = time.monotonic() + timeout
        while True:
            self._submit_queued()
            now = time.monotonic()
            if self._jobs and now >= self._next_check:
                self._check(now)
            self._read_logs(running=now >= self._next_logs)
            done = self._collect()
            now = time.monotonic()
            if done or now >= end:
                return done
            wake = min(end, self._next_check if self._jobs else end)
            time.sleep(max(0.01, min(wake - now, self.poll_min)))

    def cancel_all(self) -> list[TaskOutcome]:
        self._queued.clear()
        live = [job for job in self._jobs.values() if job.report.phase != DONE]
        if live:
            for job in live:
                job.stop_reason = "cancel"
            try:
                self.terminate(
                    [job.sub for job in live], "the flowkit run was interrupted", everything=True
                )
                self._say(f"flowkit: asked to terminate {len(live)} {self.job_label}(s)")
            except Exception as exc:  # still report every task: the run is going down anyway
                self._say(f"flowkit: could not terminate every {self.job_label}: {exc}")
        outcomes, self._failed_submits = self._failed_submits, []
        for job in list(self._jobs.values()):
            outcomes.append(self._outcome(job))
        self._jobs.clear()
        return outcomes

    # -- the shared machinery -----------------------------------------------------------------

    def _submit_queued(self) -> None:
        while self._queued:
            key = self.group_key(self._queued[0])
            count = 1
            if key is not None:
                while (
                    count < min(len(self._queued), self.max_group)
                    and self.group_key(self._queued[count]) == key
                ):
                    count += 1
            group, self._queued = self._queued[:count], self._queued[count:]
            try:
                submissions = self.submit(group)
            except SubmitError as exc:
                for spec in group:
                    manifest = failure_manifest(
                        self.ctx, spec, "submit", "SubmitError", exc.format_message()
                    )
                    self._failed_submits.append(TaskOutcome(spec, manifest))
                continue
            for sub in submissions:
                prefix = f"[{self.ctx.run_id}/{sub.spec.step}/{sub.spec.task_id}] "
                sink = sys.stdout.buffer if self.echo else None
                self._jobs[sub.job_id] = _Job(sub, StreamCapture(prefix, sink))
                if sub.group is None:
                    self._say(f"{prefix}{self.job_label} {sub.name} ({sub.job_id}): submitted")
                else:
                    self._groups.setdefault(sub.group, Counter())["SUBMITTED"] += 1
            if submissions and submissions[0].group is not None:
                self._say(f"flowkit: {submissions[0].group}: submitted {len(submissions)} tasks")
            self._interval = self.poll_min
            self._next_check = min(self._next_check, time.monotonic() + self.poll_min)

    def _check(self, now: float) -> None:
        live = [job for job in self._jobs.values() if job.report.phase != DONE]
        try:
            reports = self.describe([job.sub for job in live]) if live else {}
        except Exception as exc:  # a blip must not end the run: ask again after the backoff
            if self._failing_since is None:
                self._failing_since = now
            if now - self._failing_since >= self.status_timeout:
                self._stop_watching(live, now - self._failing_since, exc)
                return
            self._say(f"flowkit: could not check the {self.job_label}s ({exc}); trying again")
            reports = {}
        else:
            self._failing_since = None
        changed = False
        touched_groups: set[str] = set()
        for job in live:
            report = reports.get(job.sub.job_id)
            if report is None:
                continue
            if report.log_stream:
                job.sub.log_stream = report.log_stream
            if report.state != job.report.state:
                changed = True
                self._state_changed(job, report, touched_groups)
            if report.phase != QUEUED and job.running_since is None:
                job.running_since = now
            job.report = report
        for group in touched_groups:
            self._say(f"flowkit: {group}: {_summary(self._groups[group])}")
        self._enforce_timeouts(now)
        self._interval = self.poll_min if changed else min(self._interval * _BACKOFF, self.poll_max)
        self._next_check = now + self._interval
        deadlines = [
            job.running_since + job.sub.spec.timeout
            for job in self._jobs.values()
            if job.running_since is not None and job.sub.spec.timeout and job.stop_reason is None
        ]
        if deadlines:  # check again when a @timeout runs out, not up to poll_max later
            self._next_check = min(self._next_check, max(now, min(deadlines)) + self.poll_min)

    def _stop_watching(self, live: list[_Job], waited: float, error: Exception) -> None:
        """Every state check failed for ``status_timeout`` seconds: fail the tasks still watched.

        Polling on would never end when the credentials have expired; the tasks fail with the
        last error instead (their jobs are asked to stop, as far as the backend still answers).
        """
        names = ", ".join(f"{job.sub.name} ({job.sub.job_id})" for job in live)
        reason = (
            f"flowkit could not check the state of its {self.job_label} in "
            f"{self.system_label} for {waited:.0f} s (last error: {error})"
        )
        self._say(
            f"flowkit: giving up on {len(live)} {self.job_label}(s) after {waited:.0f} s of "
            f"failing state checks: {names}; last error: {error}"
        )
        for job in live:
            job.stop_reason = "unwatched"
            job.report = JobReport(job.report.state, DONE, reason=reason)
            job.drained = True  # its log cannot be read either
        try:
            self.terminate([job.sub for job in live], reason, everything=False)
        except Exception as exc:  # the backend is what failed: say so, the tasks fail anyway
            self._say(f"flowkit: could not terminate them either: {exc}")
        self._failing_since = None

    def _state_changed(self, job: _Job, report: JobReport, touched: set[str]) -> None:
        sub = job.sub
        if sub.group is None:
            prefix = f"[{self.ctx.run_id}/{sub.spec.step}/{sub.spec.task_id}] "
            failed = report.phase == DONE and not report.succeeded
            detail = f" ({report.reason})" if failed and report.reason else ""
            self._say(f"{prefix}{self.job_label} {sub.name}: {report.state}{detail}")
            return
        counts = self._groups.setdefault(sub.group, Counter())
        counts[job.report.state] -= 1
        counts[report.state] += 1
        touched.add(sub.group)

    def _enforce_timeouts(self, now: float) -> None:
        late = [
            job
            for job in self._jobs.values()
            if job.report.phase == RUNNING
            and job.stop_reason is None
            and job.sub.spec.timeout
            and job.running_since is not None
            and now - job.running_since > job.sub.spec.timeout
        ]
        for job in late:
            reason = f"timed out after {job.sub.spec.timeout:g} s (@timeout)"
            try:
                self.terminate([job.sub], reason, everything=False)
            except Exception as exc:  # try again at the next check
                self._say(f"flowkit: could not terminate {job.sub.name} ({exc}); trying again")
                continue
            job.stop_reason = "timeout"

    def _read_logs(self, *, running: bool) -> None:
        budget = self.log_reads_per_round
        finished = [j for j in self._jobs.values() if j.report.phase == DONE and not j.drained]
        for job in finished:
            while budget > 0:
                budget -= 1
                if not self._read_once(job):
                    job.drained = True
                    break
        if not running or budget <= 0:
            return
        streaming = [j for j in self._jobs.values() if j.report.phase == RUNNING]
        if streaming:
            start = self._log_turn % len(streaming)
            for job in (streaming[start:] + streaming[:start])[:budget]:
                self._read_once(job)
            self._log_turn = start + budget
        self._next_logs = time.monotonic() + max(self.poll_min, min(2.0, self.poll_max))

    def _read_once(self, job: _Job) -> bool:
        """Read one batch of new lines; False when there was nothing new."""
        if job.sub.log_stream is None:
            return False
        try:
            lines, job.log_cursor = self.read_log(job.sub, job.log_cursor)
        except Exception as exc:  # logs are a convenience: a failure must not fail the task
            self._say(f"flowkit: could not read the log of {job.sub.name}: {exc}")
            return False
        if lines:
            job.capture.feed("".join(line + "\n" for line in lines).encode())
            job.tail.extend(lines)
        return bool(lines)

    def _collect(self) -> list[TaskOutcome]:
        done, self._failed_submits = self._failed_submits, []
        for job_id, job in list(self._jobs.items()):
            if job.report.phase == DONE and job.drained:
                del self._jobs[job_id]
                job.capture.close()
                done.append(self._outcome(job))
        return done

    def _outcome(self, job: _Job) -> TaskOutcome:
        spec = job.sub.spec
        try:
            manifest = self.ctx.store.read_manifest(
                self.ctx.run_id, spec.step, spec.task_id, spec.attempt
            )
            job.capture.log.close()  # the task stored its own log
            return TaskOutcome(spec, manifest, committed=True)
        except RunNotFound:  # the job ended without committing the task
            pass
        kind, type_name, message = self._why(job)
        manifest = failure_manifest(self.ctx, spec, kind, type_name, message)
        if job.tail and manifest.failure is not None:
            tail = "\n".join(f"  {line}" for line in job.tail)
            manifest.failure = dataclasses.replace(
                manifest.failure, traceback=f"{message}\nLast lines of its log:\n{tail}"
            )
        return TaskOutcome(spec, manifest, {"stdout": job.capture.log})

    def _why(self, job: _Job) -> tuple[FailureKind, str, str]:
        """The failure kind, its shown name and message of a job that left no manifest."""
        report, sub = job.report, job.sub
        what = f"{self.job_label} {sub.name} ({sub.job_id})"
        if job.stop_reason == "cancel":
            return "killed", "Killed", f"{what} was terminated because the run was interrupted"
        if job.stop_reason == "unwatched":
            return "lost", "StatusUnavailable", f"{what}: {report.reason}"
        if job.stop_reason == "timeout" or report.timed_out:
            limit = f"the task timed out after {sub.spec.timeout or 0:g} s (@timeout)"
            if job.stop_reason == "timeout":
                return "timeout", "TaskTimeout", f"{limit}; flowkit terminated {what}"
            stopped = f"{self.system_label} stopped {what}: {report.reason}"
            return "timeout", "TaskTimeout", f"{limit}; {stopped}"
        if report.phase != DONE:
            return "killed", "Killed", f"{what} was still {report.state} when the run stopped"
        if report.succeeded:
            left = "succeeded but the task left no manifest in the datastore"
            return "crashed", "TaskCrashed", f"{what} {left}"
        code = f" with exit code {report.exit_code}" if report.exit_code is not None else ""
        reason = f": {report.reason}" if report.reason else ""
        return "crashed", "TaskCrashed", f"{what} failed{code} before the task reported{reason}"

    def _say(self, text: str) -> None:
        if self.echo:
            say(text)


def _summary(counts: Counter[str]) -> str:
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()) if n > 0)
