"""``ExecutingSpin``: the handle on ``python flow.py spin STEP`` started by ``Runner.spin``.

The spin is a subprocess, exactly as on the command line; its output goes to two files in a
private temporary folder and the CLI writes its outcome (status, the past task whose inputs it
used, the artifacts the step set, and where a persisted spin is kept) to a third.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flowkit.runner_api.executing import LaunchFolder, RunnerError

if TYPE_CHECKING:
    from flowkit.client import Task


class ExecutingSpin:
    """A finished spin of one step (see :meth:`Runner.spin`).

    Use it as a context manager so that its temporary files are removed at the end::

        with Runner("flow.py").spin("train", persist=True) as spin:
            assert spin.task["model"].data == "kmeans"

    Attributes:
        command: The command line that was started.
        returncode: Its exit code.
        status: ``"successful"`` or ``"failed"`` (the step raised).
        source: Pathspec of the past task whose inputs the step got.
        changed: Names of the artifacts the step set or changed.
        seconds: How long the step itself took.
        persisted: Whether the outputs were kept (``persist=True``), i.e. ``task`` is readable.
    """

    def __init__(
        self, folder: LaunchFolder, command: list[str], returncode: int, outcome: dict[str, Any]
    ) -> None:
        self._folder = folder
        self.command = command
        self.returncode = returncode
        self._outcome = outcome
        self.status = "successful" if outcome.get("status") == "succeeded" else "failed"
        self.source: str = outcome["source"]
        self.changed: list[str] = list(outcome.get("changed") or [])
        self.seconds: float = float(outcome.get("seconds") or 0.0)
        self.persisted = outcome.get("datastore_root") is not None
        self._stdout = folder.read("stdout")
        self._stderr = folder.read("stderr")

    def __repr__(self) -> str:
        return f"<ExecutingSpin {self._outcome['step']} of {self.source} {self.status}>"

    def __enter__(self) -> ExecutingSpin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        """Remove the temporary files (``stdout``/``stderr`` stay readable on the handle)."""
        self._folder.remove()

    @property
    def stdout(self) -> str:
        """What the spin printed on stdout (the step's output, then the summary)."""
        return self._stdout

    @property
    def stderr(self) -> str:
        """What the spin printed on stderr (the step's traceback when it failed)."""
        return self._stderr

    @property
    def pathspec(self) -> str | None:
        """The spun task's pathspec in the spin area, when persisted."""
        if not self.persisted:
            return None
        o = self._outcome
        return f"{o['flow']}/{o['run_id']}/{o['step']}/{o['task_id']}"

    @property
    def task(self) -> Task:
        """The spun task, read by the client from the spin area (``persist=True`` only).

        Raises:
            RunnerError: The spin was not persisted.
        """
        if self.pathspec is None:
            raise RunnerError(
                "this spin was not persisted: its outputs were discarded",
                hint="spin with persist=True to read its task",
            )
        from flowkit.client import ClientContext

        context = ClientContext(self._outcome["datastore_root"], chosen_by="the spin area")
        return context.task(self.pathspec)


def read_outcome(folder: LaunchFolder) -> dict[str, Any] | None:
    """The outcome the CLI wrote, or ``None`` when it wrote none (the spin did not start)."""
    try:
        return dict(json.loads((folder.path / "spin.json").read_text("utf-8")))
    except FileNotFoundError:
        return None
