"""Local executors: tasks in forked worker processes (fast) or fresh interpreters (portable).

Every task runs in its own process, so an exception, ``os._exit``, a segfault or a MemoryError
fails that task only. The scheduler process multiplexes the tasks' stdout, stderr and result pipes
with one selector and learns about exits through pidfds, so it never blocks on one task.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pickle
import selectors
import signal
import sys
import time
import traceback
from abc import abstractmethod
from dataclasses import dataclass, field

from flowkit.datastore.manifest import Failure, FailureKind, TaskManifest
from flowkit.runtime.executor import Executor, TaskOutcome
from flowkit.runtime.output import LogData, StreamCapture
from flowkit.runtime.procgroup import LeftoverGroups
from flowkit.runtime.spec import TaskSpec
from flowkit.runtime.task import RunContext, execute_task, new_manifest

_READ = 65536
_KILL_GRACE_S = 3.0


@dataclass
class _Proc:
    spec: TaskSpec
    pid: int
    captures: dict[str, StreamCapture]
    fds: dict[int, str]  # open pipe ends: fd -> "stdout" | "stderr" | "result"
    result: bytearray = field(default_factory=bytearray)
    exit_fd: int | None = None
    status: int | None = None
    cancelled: bool = False
    deadline: float | None = None
    timed_out: bool = False
    stopped_because: str = ""  # set when a failed gang peer made the runner stop this task


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker if the scheduler dies, so no orphan keeps running."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def describe_exit(status: int) -> str:
    """Say in words how a process ended, from a ``waitpid`` status."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        why = {
            "SIGSEGV": " (segmentation fault: a crash in native code)",
            "SIGKILL": " (killed: out of memory, or stopped by the user)",
            "SIGABRT": " (aborted by native code)",
        }.get(name, "")
        return f"the task process was killed by signal {name}{why}"
    return f"the task process exited with code {os.waitstatus_to_exitcode(status)} before reporting"


def exit_kind(status: int) -> FailureKind:
    """The failure kind of a task process that ended without reporting, from its status."""
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGINT, signal.SIGTERM):
        return "interrupted"  # someone stopped this very process: not a fault to retry
    return "crashed"


def failure_manifest(
    ctx: RunContext, spec: TaskSpec, kind: FailureKind, type_name: str, message: str
) -> TaskManifest:
    """A manifest for a task that died without reporting its own.

    Args:
        ctx: The run.
        spec: The task.
        kind: What happened, for the retry policy.
        type_name: The event's name shown to the user (``"TaskTimeout"``, ``"Killed"``).
        message: What happened, in words.
    """
    return new_manifest(ctx, spec, time.time(), Failure(kind, type_name, message, message))


class ProcessExecutor(Executor):
    """Shared machinery of the local executors: pipes, live echo, exit detection, cancel.

    Subclasses implement :meth:`_start`, which starts the process with the given stdout and
    stderr pipe ends (and, for forked workers, a pipe for the result).
    """

    def __init__(self, ctx: RunContext, echo: bool = True) -> None:
        self.ctx = ctx
        self.echo = echo
        self._selector = selectors.DefaultSelector()
        self._procs: dict[int, _Proc] = {}
        self._done: list[TaskOutcome] = []
        self._leftovers = LeftoverGroups()

    @property
    def active(self) -> int:
        return len(self._procs)

    @abstractmethod
    def _start(self, spec: TaskSpec, out_w: int, err_w: int, result_w: int | None) -> int:
        """Start the task's process with stdout/stderr on the given pipe ends; return its pid."""

    def _wants_result_pipe(self) -> bool:
        return True

    def launch(self, spec: TaskSpec) -> None:
        prefix = f"[{self.ctx.run_id}/{spec.step}/{spec.task_id}] "
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        res_r, res_w = os.pipe() if self._wants_result_pipe() else (None, None)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = self._start(spec, out_w, err_w, res_w)
        for fd in (out_w, err_w, res_w):
            if fd is not None:
                os.close(fd)
        sinks = (sys.stdout.buffer, sys.stderr.buffer) if self.echo else (None, None)
        fds = {out_r: "stdout", err_r: "stderr"}
        if res_r is not None:
            fds[res_r] = "result"
        proc = _Proc(
            spec=spec,
            pid=pid,
            captures={
                "stdout": StreamCapture(prefix, sinks[0]),
                "stderr": StreamCapture(prefix, sinks[1]),
            },
            fds=fds,
            deadline=time.monotonic() + spec.timeout if spec.timeout else None,
        )
        self._procs[pid] = proc
        for fd in fds:
            os.set_blocking(fd, False)
            self._selector.register(fd, selectors.EVENT_READ, (proc, "pipe"))
        try:
            proc.exit_fd = os.pidfd_open(pid)
            self._selector.register(proc.exit_fd, selectors.EVENT_READ, (proc, "exit"))
        except (AttributeError, OSError):  # no pidfd: notice exits by polling waitpid
            proc.exit_fd = None

    def poll(self, timeout: float) -> list[TaskOutcome]:
        if self._procs and any(p.exit_fd is None for p in self._procs.values()):
            timeout = min(timeout, 0.02)
        deadlines = [p.deadline for p in self._procs.values() if p.deadline and not p.timed_out]
        kill_due = self._leftovers.next_deadline()
        if kill_due is not None:
            deadlines.append(kill_due)
        if deadlines:
            timeout = max(0.0, min(timeout, min(deadlines) - time.monotonic()))
        for key, _ in self._selector.select(timeout):
            proc, kind = key.data
            if proc.pid not in self._procs or (kind == "pipe" and key.fd not in proc.fds):
                continue  # closed by an earlier event of this batch (the task was reaped)
            if kind == "exit":
                self._reap(proc, os.waitpid(proc.pid, 0)[1])
            else:
                self._read(proc, int(key.fd))
        now = time.monotonic()
        for proc in self._procs.values():
            if proc.deadline is not None and now >= proc.deadline and not proc.timed_out:
                proc.timed_out = True  # SIGKILL: also stops code stuck in C or asleep
                _signal(proc.pid, signal.SIGKILL)
        for proc in list(self._procs.values()):
            if proc.exit_fd is None:
                pid, status = os.waitpid(proc.pid, os.WNOHANG)
                if pid:
                    self._reap(proc, status)
        self._leftovers.check()
        done, self._done = self._done, []
        return done

    def _read(self, proc: _Proc, fd: int) -> bool:
        """Read what is available on one pipe; return False at EOF or when it would block."""
        try:
            chunk = os.read(fd, _READ)
        except BlockingIOError:
            return False
        name = proc.fds[fd]
        if not chunk:
            self._close(proc, fd)
            return False
        if name == "result":
            proc.result += chunk
        else:
            proc.captures[name].feed(chunk)
        return True

    def _close(self, proc: _Proc, fd: int) -> None:
        self._selector.unregister(fd)
        os.close(fd)
        proc.fds.pop(fd, None)

    def _reap(self, proc: _Proc, status: int) -> None:
        # The process is gone, so what it wrote is in the pipes: drain them, but do not wait for
        # EOF, which a grandchild holding the pipe could delay forever.
        proc.status = status
        # What the task started and left behind (a Popen it never waited for) must not outlive
        # it: its process group is the task's pid.
        self._leftovers.stop(proc.pid)
        for fd in list(proc.fds):
            while fd in proc.fds and self._read(proc, fd):
                pass
        for fd in list(proc.fds):
            self._close(proc, fd)
        if proc.exit_fd is not None:
            self._selector.unregister(proc.exit_fd)
            os.close(proc.exit_fd)
        del self._procs[proc.pid]
        for capture in proc.captures.values():
            capture.close()
        logs: dict[str, LogData] = {name: c.log for name, c in proc.captures.items()}
        self._done.append(self._outcome(proc, logs))

    def _outcome(self, proc: _Proc, logs: dict[str, LogData]) -> TaskOutcome:
        if proc.result:
            manifest = pickle.loads(bytes(proc.result))
            return TaskOutcome(proc.spec, manifest, logs)
        if proc.stopped_because:
            failure = failure_manifest(
                self.ctx, proc.spec, "gang", "GangPeerFailed", proc.stopped_because
            )
        elif proc.timed_out:
            limit = proc.spec.timeout or 0
            message = f"the task timed out after {limit:g} s (@timeout) and was killed"
            failure = failure_manifest(self.ctx, proc.spec, "timeout", "TaskTimeout", message)
        elif proc.cancelled:
            message = "the task was stopped because the run was interrupted"
            failure = failure_manifest(self.ctx, proc.spec, "killed", "Killed", message)
        else:
            status = int(proc.status or 0)
            failure = failure_manifest(
                self.ctx, proc.spec, exit_kind(status), "TaskCrashed", describe_exit(status)
            )
        return TaskOutcome(proc.spec, failure, logs)

    def stop_tasks(self, task_ids: set[str], reason: str) -> None:
        """Stop the running tasks with these ids (SIGTERM, SIGKILL after a grace period).

        Their outcomes, reported by :meth:`poll`, are failures of kind ``gang`` saying
        ``reason``.
        """
        grace = time.monotonic() + _KILL_GRACE_S
        for proc in self._procs.values():
            if proc.spec.task_id in task_ids and not proc.stopped_because:
                proc.stopped_because = reason
                # the timeout machinery sends the SIGKILL if SIGTERM is not enough
                proc.deadline = min(proc.deadline or grace, grace)
                _signal(proc.pid, signal.SIGTERM)

    def cancel_all(self) -> list[TaskOutcome]:
        for proc in self._procs.values():
            proc.cancelled = True
            _signal(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + _KILL_GRACE_S
        outcomes: list[TaskOutcome] = []
        while self._procs and time.monotonic() < deadline:
            outcomes += self.poll(0.05)
        for proc in list(self._procs.values()):
            _signal(proc.pid, signal.SIGKILL)
        while self._procs:
            outcomes += self.poll(0.05)
        return outcomes

    def close(self) -> None:
        """At the end of the run: wait for leftover processes of finished tasks to be stopped."""
        self._leftovers.finish()


def _signal(pid: int, sig: int) -> None:
    """Signal the task's whole process group (its own subprocesses too), or just it."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
            os.kill(pid, sig)


class ForkExecutor(ProcessExecutor):
    """Runs each task in a fork of the scheduler, which has already imported the flow.

    Forking skips interpreter start-up and imports, which is most of a task's cost in tools that
    start a fresh interpreter per task. The worker sends its manifest back over a pipe, so the
    scheduler never re-reads the datastore to learn what happened.
    """

    def _start(self, spec: TaskSpec, out_w: int, err_w: int, result_w: int | None) -> int:
        pid = os.fork()
        if pid:
            with contextlib.suppress(OSError):  # the child does the same; whichever runs first
                os.setpgid(pid, pid)
            return pid
        code = 1
        # What the worker inherited stays out of its garbage collections: a full collection
        # writes to every object it scans, so it would copy the runner's heap page by page
        # (on S3 that heap holds the client's service models: ~10% of a task's CPU).
        gc.freeze()
        try:  # in the worker: never return into the scheduler's code
            # Its own process group: a timeout or cancel can kill what the task started, and
            # Ctrl-C reaches only the runner, which then stops every task itself.
            with contextlib.suppress(OSError):
                os.setpgid(0, 0)
            _die_with_parent()
            os.environ.update(spec.env)  # this process runs only this task
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for stream in (sys.stdout, sys.stderr):
                reconfigure = getattr(stream, "reconfigure", None)
                if reconfigure is not None:
                    reconfigure(line_buffering=True)
            manifest = execute_task(self.ctx, spec)
            payload = pickle.dumps(manifest, protocol=pickle.HIGHEST_PROTOCOL)
            assert result_w is not None
            with os.fdopen(result_w, "wb") as result:
                result.write(payload)
            code = 0
        except BaseException:  # report anything, then leave without running parent cleanups
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
        return 0  # pragma: no cover - unreachable
