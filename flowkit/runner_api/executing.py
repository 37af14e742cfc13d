"""``ExecutingRun``: the handle on a run started by :class:`~flowkit.runner_api.Runner`.

The run is a ``python flow.py run`` subprocess, exactly as on the command line. Its output goes
to two files in a private temporary folder (read by ``stdout``/``stderr`` and tailed by
``stream_log``), and the CLI writes the claimed run id to a third (``--run-id-file``), which is
how the handle finds the client :class:`~flowkit.client.Run` without parsing any output.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowkit.errors import FlowkitError

if TYPE_CHECKING:
    from flowkit.client import Run, Task

#: Seconds a killed run gets to record itself as killed before it is killed for good.
TERMINATION_TIMEOUT = 5.0
_POLL = 0.05


class RunnerError(FlowkitError):
    """A run launched from Python could not start (no run was created), or was misused."""

    headline = "runner error"


def checked_flow_file(
    flow_file: str | os.PathLike[str], error: type[RunnerError] = RunnerError
) -> Path:
    """``flow_file`` resolved, or ``error`` when it is not a file (Runner, Deployer)."""
    path = Path(flow_file).resolve()
    if not path.is_file():
        raise error(
            f"no flow file {flow_file}", hint="pass the path of a flow file, e.g. 'flow.py'"
        )
    return path


class LaunchFolder:
    """The private temporary folder of one launch: its two logs and its run-id file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stdout = path / "stdout.log"
        self.stderr = path / "stderr.log"
        self.run_id_file = path / "run-id.json"

    def log(self, stream: str) -> Path:
        """The log file of ``stream`` (``"stdout"`` or ``"stderr"``).

        Raises:
            RunnerError: ``stream`` is neither.
        """
        if stream not in ("stdout", "stderr"):
            raise RunnerError(f"no log {stream!r}", hint='use "stdout" or "stderr"')
        return self.stdout if stream == "stdout" else self.stderr

    def read(self, stream: str) -> str:
        """Everything written to ``stream`` so far ("" once cleaned up)."""
        try:
            return self.log(stream).read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def run_info(self) -> dict[str, str] | None:
        """``{"flow", "run_id", "datastore_root"}`` once the CLI has claimed a run id."""
        try:
            return dict(json.loads(self.run_id_file.read_text("utf-8")))
        except FileNotFoundError:
            return None

    def remove(self) -> None:
        """Delete the folder and everything in it."""
        shutil.rmtree(self.path, ignore_errors=True)


class ExecutingRun:
    """A run started by ``Runner.run``/``resume`` (finished) or ``async_run``/``async_resume``
    (maybe still running).

    Use it as a context manager (``with``, or ``async with``) so that its temporary files are
    removed at the end, and a run still going is killed.

    Attributes:
        command: The command line that was started.
    """

    def __init__(self, process: Any, folder: LaunchFolder, command: list[str]) -> None:
        self._process = process
        self._folder = folder
        self.command = command
        self._run: Run | None = None

    def __repr__(self) -> str:
        info = self._folder.run_info()
        what = f"{info['flow']}/{info['run_id']}" if info else "no run yet"
        return f"<ExecutingRun {what} {self.status}>"

    # -- context managers -----------------------------------------------------------------

    def __enter__(self) -> ExecutingRun:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.returncode is None:
            self._terminate_blocking()
        self.cleanup()

    async def __aenter__(self) -> ExecutingRun:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.returncode is None:
            await self.kill()
        self.cleanup()

    def cleanup(self) -> None:
        """Remove the handle's temporary files (logs, run-id file).

        ``stdout``/``stderr`` read ``""`` afterwards; the run's own logs stay in the datastore.
        """
        self._folder.remove()

    # -- state ----------------------------------------------------------------------------

    @property
    def returncode(self) -> int | None:
        """The exit code of ``python flow.py run``, or ``None`` while it runs."""
        if isinstance(self._process, subprocess.Popen):
            return self._process.poll()
        return self._process.returncode

    @property
    def status(self) -> str:
        """``"running"``, ``"successful"`` or ``"failed"`` (as in Metaflow; a killed run is
        ``"failed"``, and its client ``run.status`` says ``"killed"``)."""
        code = self.returncode
        if code is None:
            return "running"
        return "successful" if code == 0 else "failed"

    @property
    def run(self) -> Run | None:
        """The client :class:`~flowkit.client.Run` of this run, read from the datastore the
        run writes to; ``None`` when the command ended before creating a run."""
        if self._run is None:
            info = self._folder.run_info()
            if info is None:
                return None
            from flowkit.client import ClientContext

            context = ClientContext(info["datastore_root"], chosen_by="the Runner's run")
            self._run = context.run(f"{info['flow']}/{info['run_id']}")
        return self._run

    @property
    def stdout(self) -> str:
        """Everything the command printed to standard output so far."""
        return self._folder.read("stdout")

    @property
    def stderr(self) -> str:
        """Everything the command wrote to standard error so far (progress, failures)."""
        return self._folder.read("stderr")

    @property
    def failed_task(self) -> Task | None:
        """The first task of the run that failed for good (its last attempt failed), if any."""
        run = self.run
        if run is None or self.status == "successful":
            return None
        failed = [task for step in run for task in step if task.finished and not task.successful]
        failed.sort(key=lambda t: t.finished_at.timestamp() if t.finished_at else 0.0)
        return failed[0] if failed else None

    @property
    def failure(self) -> str:
        """What went wrong, for a failed run: the failed task's pathspec and the user's
        traceback; else the command's error output; ``""`` while running or after success."""
        if self.status != "failed":
            return ""
        task = self.failed_task
        if task is not None:
            exc = task.exception
            return f"task {task.pathspec} failed:\n{exc}" if exc else f"task {task.pathspec}"
        return self.stderr.strip()

    # -- waiting, streaming, killing ------------------------------------------------------

    async def wait(self, timeout: float | None = None, stream: str | None = None) -> ExecutingRun:
        """Wait until the run's command ends.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.
            stream: ``"stdout"`` or ``"stderr"``: print that output as it comes, meanwhile.

        Returns:
            This handle, so ``await running.wait()`` chains.

        Raises:
            TimeoutError: The run is still going after ``timeout`` seconds (it keeps running;
                ``await kill()`` stops it).
        """
        waiter: Awaitable[Any]
        if stream is not None:
            waiter = self._echo(stream)
        elif isinstance(self._process, subprocess.Popen):
            waiter = asyncio.to_thread(self._process.wait)
        else:
            waiter = self._process.wait()
        try:
            await asyncio.wait_for(waiter, timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"the run is still going after {timeout} s") from None
        return self

    async def _echo(self, stream: str) -> None:
        async for _, line in self.stream_log(stream):
            print(line, flush=True)

    async def stream_log(
        self, stream: str = "stdout", position: int | None = None
    ) -> AsyncIterator[tuple[int, str]]:
        """Yield ``(position, line)`` for each line of the command's output as it is written,
        until the command ends.

        Args:
            stream: ``"stdout"`` or ``"stderr"``.
            position: Byte offset to start from (a position yielded earlier resumes there).
        """
        path = self._folder.log(stream)
        offset = position or 0
        pending = b""
        while True:
            done = self.returncode is not None  # read after this check: nothing is missed
            with open(path, "rb") as log:
                log.seek(offset)
                chunk = log.read()
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                offset += len(line) + 1
                yield offset, line.decode("utf-8", "replace")
            if done:
                if pending:
                    offset += len(pending)
                    yield offset, pending.decode("utf-8", "replace")
                return
            await asyncio.sleep(_POLL)

    async def kill(self, termination_timeout: float = TERMINATION_TIMEOUT) -> None:
        """Stop the run: SIGTERM first, so it records itself as killed, then SIGKILL.

        Args:
            termination_timeout: Seconds to wait between the two.
        """
        if self.returncode is not None:
            return
        self._process.terminate()
        try:
            await self.wait(termination_timeout)
        except TimeoutError:
            self._process.kill()
            await self.wait()

    def _terminate_blocking(self) -> None:
        self._process.terminate()
        if not isinstance(self._process, subprocess.Popen):
            return  # an asyncio child is reaped by its event loop, which is not running here
        deadline = time.monotonic() + TERMINATION_TIMEOUT
        while self.returncode is None and time.monotonic() < deadline:
            time.sleep(_POLL)
        if self.returncode is None:
            self._process.kill()
            if isinstance(self._process, subprocess.Popen):
                self._process.wait()
