"""``Deployer``: deploy a flow file to a production orchestrator from Python, as Metaflow's does.

``Deployer("flow.py").step_functions().create()`` runs ``python flow.py step-functions create``
in a subprocess, exactly as on the command line, and returns a :class:`DeployedFlow`;
``deployed.trigger(alpha=3)`` runs ``... step-functions trigger --alpha 3`` and returns a
:class:`TriggeredRun` whose ``run`` is the client :class:`~flowkit.client.Run` once it exists.

Orchestrators are plugins: a flow command ``flowcommand.<name>`` (the CLI) and a
``deployer.<name>`` entry point naming a :class:`DeployerImpl` subclass. The CLI side of the
contract, which every deployer's flow command keeps:

* ``create ... --deployer-attribute-file PATH`` writes ``{"name", "flow_name", "metadata"}``
  (JSON) once the deployment exists;
* ``trigger [--PARAM VALUE ...] --run-id-file PATH`` writes ``{"flow", "run_id",
  "datastore_root"}`` once the run is started (the same file ``run --run-id-file`` writes);
* ``delete``, ``list-runs --json`` and ``status RUN_ID --json`` where the orchestrator has them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from flowkit.errors import did_you_mean
from flowkit.registry import PluginError, registry
from flowkit.runner_api.executing import RunnerError, checked_flow_file
from flowkit.runner_api.params import option_args, parameter_args, read_flow_parameters

if TYPE_CHECKING:
    from flowkit.client import Run

_POLL = 0.2


class DeployerError(RunnerError):
    """A deployer command failed (its output is in the message), or the API was misused."""

    headline = "deployer error"


class Deployer:
    """Deploy a flow file: ``Deployer("flow.py").step_functions().create()``.

    Args:
        flow_file: Path of the flow file.
        show_output: Echo each command's output to this process's stdout/stderr.
        profile: Not supported (flowkit has no configuration profiles); must stay ``None``.
        env: Environment variables for the commands, over this process's environment.
        cwd: Folder the commands run in; the current folder by default.
        file_read_timeout: Seconds to wait for a command to report what it created.
        **kwargs: Top-level options of the flow file's command (``datastore_root``...).

    Raises:
        DeployerError: The flow file does not exist, or ``profile`` was given.
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
        self.flow_file = checked_flow_file(flow_file, DeployerError)
        if profile is not None:
            raise DeployerError(
                "flowkit has no configuration profiles",
                hint="set what differs with env={...} or top-level options instead",
            )
        self.show_output = show_output
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.cwd = Path(cwd) if cwd is not None else Path.cwd()
        self.file_read_timeout = file_read_timeout
        self.top_level = option_args(kwargs)

    def step_functions(self, **kwargs: Any) -> DeployerImpl:
        """Deploy to AWS Step Functions (the ``flowkit_sfn`` plugin); ``kwargs`` are options
        of ``python flow.py step-functions`` itself (e.g. ``name``)."""
        return self.impl("step-functions", **kwargs)

    def airflow(self, **kwargs: Any) -> DeployerImpl:
        """Deploy to Apache Airflow (the ``flowkit_airflow`` plugin); ``kwargs`` are options of
        ``python flow.py airflow`` itself."""
        return self.impl("airflow", **kwargs)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        name = attr.replace("_", "-")
        if name not in registry().names("deployer"):
            raise AttributeError(
                f"Deployer has no orchestrator {attr!r}"
                + did_you_mean(name, registry().names("deployer"))
            )
        return lambda **kwargs: self.impl(name, **kwargs)

    def impl(self, orchestrator: str, /, **kwargs: Any) -> DeployerImpl:
        """The deployer registered as ``deployer.<orchestrator>``, bound to this flow file.

        Raises:
            PluginError: No such deployer, or its plugin cannot be imported.
        """
        cls = registry().get("deployer", orchestrator)
        if not (isinstance(cls, type) and issubclass(cls, DeployerImpl)):
            raise PluginError(
                f"the deployer {orchestrator!r} ({cls!r}) is not a DeployerImpl subclass",
                hint="register a subclass of flowkit.extend.DeployerImpl as deployer.<name>",
            )
        return cls(self, **kwargs)


class DeployerImpl:
    """One orchestrator's deployer; plugins subclass it and set ``TYPE``.

    Args:
        deployer: The :class:`Deployer` (flow file, environment, folder).
        **kwargs: Options of the orchestrator's command group, e.g. ``name="x"`` for
            ``python flow.py step-functions --name x ...``.
    """

    #: The flow command of the orchestrator, e.g. ``"step-functions"``.
    TYPE: ClassVar[str] = ""

    def __init__(self, deployer: Deployer, **kwargs: Any) -> None:
        self.deployer = deployer
        self.group_options = option_args(kwargs)

    def argv(self, command: str, *args: str) -> list[str]:
        """The full command line of ``python flow.py TYPE [options] command args...``."""
        d = self.deployer
        return [
            sys.executable,
            str(d.flow_file),
            *d.top_level,
            self.TYPE,
            *self.group_options,
            command,
            *args,
        ]

    def call(self, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a command of the group and wait; its output is echoed when ``show_output``.

        Raises:
            DeployerError: The command exited non-zero (its output is in the message).
        """
        d = self.deployer
        argv = self.argv(command, *args)
        done = subprocess.run(
            argv, cwd=d.cwd, env=d.env, capture_output=True, text=True, errors="replace"
        )
        if d.show_output:
            sys.stdout.write(done.stdout)
            sys.stderr.write(done.stderr)
        if done.returncode != 0:
            error = done.stderr.strip() or done.stdout.strip() or "(no output)"
            raise DeployerError(
                f"python {d.flow_file.name} {self.TYPE} {command} failed (exit code "
                f"{done.returncode}):\n{error}",
                hint="fix what the output above says, then try again",
            )
        return done

    def call_reporting(self, command: str, option: str, *args: str) -> dict[str, Any]:
        """Run a command that writes a JSON report to the file given by ``option``; return it.

        Raises:
            DeployerError: The command failed or wrote no report.
        """
        folder = Path(tempfile.mkdtemp(prefix="flowkit-deployer-"))
        try:
            report = folder / "report.json"
            self.call(command, *args, option, str(report))
            if not report.is_file():
                raise DeployerError(
                    f"python {self.deployer.flow_file.name} {self.TYPE} {command} wrote no "
                    f"{option} report",
                    hint=f"the {self.TYPE} plugin must write it (see flowkit.runner_api.deployer)",
                )
            return dict(json.loads(report.read_text("utf-8")))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def create(self, **kwargs: Any) -> DeployedFlow:
        """Deploy the flow (``python flow.py TYPE create``); ``kwargs`` are its options.

        Raises:
            DeployerError: The deployment failed.
        """
        info = self.call_reporting("create", "--deployer-attribute-file", *option_args(kwargs))
        return DeployedFlow(self, info)


class DeployedFlow:
    """A flow deployed to an orchestrator, ready to run on its schedule or triggers.

    Attributes:
        deployer: The orchestrator's :class:`DeployerImpl`.
        name: The deployment's name on the orchestrator (state machine, DAG id...).
        flow_name: The flow class's name.
        metadata: What the orchestrator reported (ARNs, files, ...).
    """

    def __init__(self, deployer: DeployerImpl, info: dict[str, Any]) -> None:
        self.deployer = deployer
        self.name = str(info.get("name", ""))
        self.flow_name = str(info.get("flow_name", ""))
        self.metadata: dict[str, Any] = dict(info.get("metadata") or {})

    def __repr__(self) -> str:
        return f"<DeployedFlow {self.deployer.TYPE} {self.name}>"

    def trigger(self, **kwargs: Any) -> TriggeredRun:
        """Start a run now with these parameter values (``alpha=3``).

        Raises:
            ParameterError: A parameter is unknown or has the wrong type (nothing started).
            DeployerError: The orchestrator refused to start the run.
        """
        flow = read_flow_parameters(self.deployer.deployer.flow_file)
        args = parameter_args(flow, kwargs, "trigger")
        info = self.deployer.call_reporting("trigger", "--run-id-file", *args)
        return TriggeredRun(self, info)

    def delete(self, **kwargs: Any) -> bool:
        """Remove the deployment (and its schedules and triggers).

        Raises:
            DeployerError: The orchestrator refused.
        """
        self.deployer.call("delete", *option_args(kwargs))
        return True

    def list_runs(self, **kwargs: Any) -> list[dict[str, Any]]:
        """The deployment's runs as the orchestrator lists them (``list-runs --json``)."""
        done = self.deployer.call("list-runs", "--json", *option_args(kwargs))
        return list(json.loads(done.stdout or "[]"))


class TriggeredRun:
    """A run started on an orchestrator; ``run`` is its client Run once the run exists.

    Attributes:
        deployed_flow: The deployment that started it.
        flow_name: The flow's name.
        run_id: The run's id (e.g. ``sfn-<execution name>``).
        pathspec: ``flow_name/run_id``.
    """

    def __init__(self, deployed_flow: DeployedFlow, info: dict[str, Any]) -> None:
        self.deployed_flow = deployed_flow
        self.flow_name = str(info["flow"])
        self.run_id = str(info["run_id"])
        self.pathspec = f"{self.flow_name}/{self.run_id}"
        self._datastore_root = str(info.get("datastore_root") or "")
        self._run: Run | None = None

    def __repr__(self) -> str:
        return f"<TriggeredRun {self.pathspec}>"

    @property
    def run(self) -> Run | None:
        """The client Run, or ``None`` while the orchestrator has not started its first task."""
        if self._run is None:
            from flowkit.client import ClientContext
            from flowkit.errors import FlowkitError

            context = ClientContext(self._datastore_root, chosen_by="the deployer's trigger")
            try:
                self._run = context.run(self.pathspec)
            except FlowkitError:
                return None
        return self._run

    def status(self) -> dict[str, Any]:
        """The orchestrator's view of the run (``status RUN_ID --json``)."""
        done = self.deployed_flow.deployer.call("status", self.run_id, "--json")
        return dict(json.loads(done.stdout or "{}"))

    def wait_for_run(self, timeout: float | None = None) -> Run:
        """Wait until the run exists in the datastore and return it.

        Raises:
            DeployerError: It did not appear within ``timeout`` seconds.
        """
        limit = self.deployed_flow.deployer.deployer.file_read_timeout
        deadline = time.monotonic() + (timeout if timeout is not None else limit)
        while True:
            run = self.run
            if run is not None:
                return run
            if time.monotonic() > deadline:
                raise DeployerError(
                    f"run {self.pathspec} did not appear in the datastore in time",
                    hint="look at the orchestrator's execution, or wait longer",
                )
            time.sleep(_POLL)
