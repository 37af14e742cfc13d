"""``Runner``: start and resume runs of a flow file from Python, as Metaflow's Runner does.

Each run is ``python flow.py run --param value ...`` in a subprocess, so it behaves exactly as
on the command line (same checks, same datastore, same logs). Parameters are checked against
the flow file's declarations before the subprocess starts.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from flowkit.errors import did_you_mean
from flowkit.runner_api.executing import ExecutingRun, LaunchFolder, RunnerError, checked_flow_file
from flowkit.runner_api.params import (
    FlowParameters,
    option_args,
    parameter_args,
    read_flow_parameters,
)
from flowkit.runner_api.spinning import ExecutingSpin, read_outcome

#: Keyword arguments of ``Runner(...)``: the flow file's top-level options.
_TOP_LEVEL = {"datastore_root": "--datastore-root", "debug": "--debug"}
#: Metaflow top-level options that have nothing to switch off in flowkit (it runs no linter):
#: accepted and ignored, so ``Runner("flow.py", pylint=False)`` keeps working.
_IGNORED = frozenset({"pylint"})
#: Keyword arguments of ``run``/``resume`` that are options of the command, not parameters.
#: ``decospecs`` is Metaflow's name for ``--with`` (``with`` is a Python keyword).
_RUN_OPTIONS = {
    "tags": "--tag",
    "max_workers": "--max-workers",
    "decospecs": "--with",
    "launcher": "--launcher",
    "profile": "--profile",  # the data catalog's profile and file
    "catalog": "--catalog",
}


class Runner:
    """Run a flow file from Python: ``with Runner("flow.py").run(alpha=3) as running: ...``.

    Args:
        flow_file: Path of the flow file, relative to the current folder.
        show_output: Echo the run's output to this process's stdout/stderr while a blocking
            ``run``/``resume`` goes on (it is captured in ``running.stdout``/``stderr`` anyway).
        profile: Not supported (flowkit has no configuration profiles); must stay ``None``.
        env: Environment variables for the run, over this process's environment.
        cwd: Folder the run starts in (which decides the default datastore: the nearest
            ``.flowkit/`` above it); the current folder by default.
        file_read_timeout: Seconds ``async_run`` waits for the run to be created.
        **kwargs: Top-level options of the flow file's command: ``datastore_root``, ``debug``
            (``pylint`` is accepted and ignored: flowkit runs no linter).

    Raises:
        RunnerError: The flow file does not exist, or an option is unknown.
    """

    def __init__(
        self,
        flow_file: str | os.PathLike[str],
        show_output: bool = True,
        profile: str | None = None,
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        file_read_timeout: float = 3600.0,
        **kwargs: Any,
    ) -> None:
        self.flow_file = checked_flow_file(flow_file)
        if profile is not None:
            raise RunnerError(
                "flowkit has no configuration profiles",
                hint="set the datastore with datastore_root=... or env={...} instead; for the "
                "data catalog's profile use run(profile=...)",
            )
        kwargs = {k: v for k, v in kwargs.items() if k not in _IGNORED}
        for key in kwargs:
            if key not in _TOP_LEVEL:
                raise RunnerError(
                    f"Runner() has no option {key!r}" + did_you_mean(key, _TOP_LEVEL),
                    hint=f"top-level options: {', '.join(sorted(_TOP_LEVEL))}; parameters go "
                    "to run(...)",
                )
        self.show_output = show_output
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.cwd = Path(cwd) if cwd is not None else Path.cwd()
        self.file_read_timeout = file_read_timeout
        self.top_level = option_args(kwargs, _TOP_LEVEL)
        self._flow: FlowParameters | None = None
        self._handles: list[ExecutingRun] = []

    # -- context manager ------------------------------------------------------------------

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    async def __aenter__(self) -> Runner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        """Remove the temporary files of every run this runner started."""
        for handle in self._handles:
            handle.cleanup()

    # -- commands -------------------------------------------------------------------------

    def run(self, **kwargs: Any) -> ExecutingRun:
        """Run the flow and wait for it to end.

        Args:
            **kwargs: The flow's parameters (``alpha=3``), and run options: ``tags`` (a list),
                ``max_workers``, ``decospecs`` (``--with`` values), ``launcher``, and the
                data catalog's ``profile`` and ``catalog``.

        Returns:
            The finished run's handle (also when the run failed: see ``status``/``failure``).

        Raises:
            ParameterError: A parameter is unknown or its value has the wrong type (nothing ran).
            RunnerError: The command ended without creating a run (its error is in the message).
        """
        return self._blocking(self._command("run", kwargs))

    def resume(
        self, step: str | None = None, origin_run_id: str | None = None, **kwargs: Any
    ) -> ExecutingRun:
        """Resume a run (the latest by default) and wait for it to end.

        Args:
            step: Re-run this step and everything after it (default: from the failed tasks).
            origin_run_id: The run to resume.
            **kwargs: Run options (``tags``, ``max_workers``, ``decospecs``, ``launcher``).

        Returns:
            The new run's handle.

        Raises:
            RunnerError: The command ended without creating a run.
        """
        return self._blocking(self._resume_command(step, origin_run_id, kwargs))

    def spin(
        self,
        step: str,
        pathspec: str | None = None,
        persist: bool = False,
        artifacts_module: str | os.PathLike[str] | None = None,
        decospecs: list[str] | tuple[str, ...] = (),
    ) -> ExecutingSpin:
        """Run one step again with the current code against a past task's inputs, and wait.

        This is ``python flow.py spin STEP`` (see its ``--help``): nothing is written to the
        datastore; with ``persist`` the outputs are kept in ``.flowkit_spin`` under ``cwd``
        and the handle's ``task`` reads them.

        Args:
            step: The step to spin.
            pathspec: The past task whose inputs to use (default: the first task of ``step``
                in the latest run that reached it).
            persist: Keep the outputs, readable through ``handle.task``.
            artifacts_module: A ``.py`` file defining ``ARTIFACTS = {...}``: input artifacts
                to override.
            decospecs: Decorators to apply to the step (``--with`` values).

        Returns:
            The finished spin's handle (also when the step failed: see ``status``).

        Raises:
            RunnerError: The spin could not start (no past run, unknown step...): the CLI's
                message is in the error.
        """
        command = ["spin", step]
        if pathspec is not None:
            command += ["--pathspec", pathspec]
        if persist:
            command.append("--persist")
        if artifacts_module is not None:
            command += ["--artifacts-module", str(Path(artifacts_module).resolve())]
        for spec in decospecs:
            command += ["--with", spec]
        folder = LaunchFolder(Path(tempfile.mkdtemp(prefix="flowkit-spin-")))
        argv = [sys.executable, str(self.flow_file), *self.top_level, *command]
        argv += ["--result-file", str(folder.path / "spin.json")]
        handle = self._launch_and_follow(folder, argv)
        outcome = read_outcome(folder)
        if outcome is None:
            error = handle.stderr.strip() or handle.stdout.strip() or "(no output)"
            folder.remove()
            raise RunnerError(
                f"python {self.flow_file.name} spin {step} did not run the step (exit code "
                f"{handle.returncode}):\n{error}",
                hint="fix what the output above says, then spin again",
            )
        return ExecutingSpin(folder, argv, int(handle.returncode or 0), outcome)

    async def async_run(self, **kwargs: Any) -> ExecutingRun:
        """Start the flow and return as soon as its run exists; see :meth:`run`.

        The handle can be awaited (``await running.wait()``), polled (``running.status``),
        streamed (``running.stream_log("stdout")``) and killed (``await running.kill()``).
        """
        return await self._started(self._command("run", kwargs))

    async def async_resume(
        self, step: str | None = None, origin_run_id: str | None = None, **kwargs: Any
    ) -> ExecutingRun:
        """Start a resume and return as soon as its run exists; see :meth:`resume`."""
        return await self._started(self._resume_command(step, origin_run_id, kwargs))

    # -- building the command -------------------------------------------------------------

    def _flow_parameters(self) -> FlowParameters:
        if self._flow is None:
            self._flow = read_flow_parameters(self.flow_file)
        return self._flow

    def _command(self, verb: str, kwargs: dict[str, Any]) -> list[str]:
        options = {k: v for k, v in kwargs.items() if k in _RUN_OPTIONS}
        params = {k: v for k, v in kwargs.items() if k not in _RUN_OPTIONS}
        args = parameter_args(self._flow_parameters(), params, verb)
        return [verb, *option_args(options, _RUN_OPTIONS), *args]

    def _resume_command(
        self, step: str | None, origin_run_id: str | None, kwargs: dict[str, Any]
    ) -> list[str]:
        command = self._command("resume", kwargs)
        if origin_run_id is not None:
            command += ["--origin-run-id", str(origin_run_id)]
        if step is not None:
            command.append(step)
        return command

    # -- launching ------------------------------------------------------------------------

    def _prepare(self, command: list[str]) -> tuple[LaunchFolder, list[str]]:
        folder = LaunchFolder(Path(tempfile.mkdtemp(prefix="flowkit-runner-")))
        argv = [
            sys.executable,
            str(self.flow_file),
            *self.top_level,
            *command[:1],
            "--run-id-file",
            str(folder.run_id_file),
            *command[1:],
        ]
        return folder, argv

    def _blocking(self, command: list[str]) -> ExecutingRun:
        folder, argv = self._prepare(command)
        return self._created(self._launch_and_follow(folder, argv))

    def _launch_and_follow(self, folder: LaunchFolder, argv: list[str]) -> ExecutingRun:
        """Start ``argv`` with its output going to ``folder`` and wait for it to end."""
        with open(folder.stdout, "wb") as out, open(folder.stderr, "wb") as err:
            process = subprocess.Popen(argv, cwd=self.cwd, env=self.env, stdout=out, stderr=err)
        handle = ExecutingRun(process, folder, argv)
        try:
            self._follow(handle, folder)
        except BaseException:  # Ctrl-C in the caller stops the command too
            handle.__exit__(None, None, None)
            raise
        return handle

    def _follow(self, handle: ExecutingRun, folder: LaunchFolder) -> None:
        """Wait for the command, echoing its output when ``show_output`` is on."""
        echo: list[tuple[Path, TextIO, list[int]]] = [
            (folder.stdout, sys.stdout, [0]),
            (folder.stderr, sys.stderr, [0]),
        ]
        while True:
            done = handle.returncode is not None
            if self.show_output:
                for path, target, offset in echo:
                    with open(path, "rb") as log:
                        log.seek(offset[0])
                        chunk = log.read()
                    if chunk:
                        offset[0] += len(chunk)
                        target.write(chunk.decode("utf-8", "replace"))
                        target.flush()
            if done:
                return
            time.sleep(0.05)

    async def _started(self, command: list[str]) -> ExecutingRun:
        folder, argv = self._prepare(command)
        with open(folder.stdout, "wb") as out, open(folder.stderr, "wb") as err:
            process = await asyncio.create_subprocess_exec(
                *argv, cwd=self.cwd, env=self.env, stdout=out, stderr=err
            )
        handle = ExecutingRun(process, folder, argv)
        deadline = time.monotonic() + self.file_read_timeout
        try:
            while folder.run_info() is None and process.returncode is None:
                if time.monotonic() > deadline:
                    raise RunnerError(
                        f"no run was created within {self.file_read_timeout} s",
                        hint="raise file_read_timeout, or look at the command's output",
                    )
                await asyncio.sleep(0.05)
        except BaseException:
            await handle.__aexit__(None, None, None)
            raise
        return self._created(handle)

    def _created(self, handle: ExecutingRun) -> ExecutingRun:
        """Keep ``handle`` if a run was created; else clean up and say why not."""
        if handle.run is None:
            error = handle.stderr.strip() or handle.stdout.strip() or "(no output)"
            handle.cleanup()
            raise RunnerError(
                f"python {self.flow_file.name} {handle.command[2 + len(self.top_level)]} "
                f"created no run (exit code {handle.returncode}):\n{error}",
                hint="fix what the output above says, then run again",
            )
        self._handles.append(handle)
        return handle
