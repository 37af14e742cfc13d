"""Re-run a past run from its own code snapshot and say whether it gives the same outputs.

``reproduce_run("TrainFlow/12")`` extracts the run's code snapshot into a temporary folder,
runs its flow file there (``python train.py run`` with the run's recorded parameters, through
the :class:`~flowkit.runner_api.Runner`) into the same datastore, and diffs the new run with
the old one (:mod:`flowkit.client.diff`). With ``artifact=("train", "model")`` the verdict is
whether that one artifact's content hash is the same (or equals ``expected_hash``). The fresh
run is tagged ``reproduces:TrainFlow/12``.

What is reproduced: the code in the snapshot, the parameters (an ``IncludeFile``'s recorded
contents are written back to a file), the datastore. What is not: the Python environment and
installed packages (the run records them: ``run.environment``), environment variables, files
outside the snapshot that steps read by path, and external data the catalog did not snapshot;
any of these can make a deterministic flow diverge.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowkit.client import ClientContext, Run, Task
from flowkit.client.diff import RunDiff, diff_runs
from flowkit.client.diff.match import TaskKey, collect
from flowkit.dsl.parameters import IncludeFile
from flowkit.errors import FlowkitError
from flowkit.modelreg.stepreg import REPRODUCING_ENV
from flowkit.runner_api import Runner
from flowkit.runner_api.params import read_flow_parameters

#: The fresh run is tagged ``reproduces:Flow/run``: ``flowkit runs FLOW --tag ...`` finds them.
REPRODUCES_TAG = "reproduces:"
#: ``(step, name)`` or ``(step, task_id, name)`` of the artifact a reproduction is about.
ArtifactSpec = tuple[str, str] | tuple[str, str, str]


class ReproduceError(FlowkitError):
    """A run cannot be reproduced (no code snapshot, an artifact named ambiguously...)."""

    exit_code = 2
    headline = "cannot reproduce"


@dataclass
class Reproduction:
    """The outcome of :func:`reproduce_run`.

    Attributes:
        original: Pathspec of the run reproduced.
        new_run: Pathspec of the fresh run.
        status: The fresh run's status (``"succeeded"``, ``"failed"``...).
        matches: With an artifact: whether its content hash in the fresh run is the expected
            one. Without: whether the fresh run succeeded with every step's outputs equal.
        first_diverged_step: When it does not match, the first step (in DAG order) whose
            outputs differ between the two runs; ``None`` when it matches.
        diff: The full comparison of the two runs.
        artifact: ``(step, task_id, name)`` of the artifact checked, in the original run.
        expected_hash: The content hash the artifact should have.
        new_hash: Its content hash in the fresh run (``None`` when it is missing there).
    """

    original: str
    new_run: str
    status: str
    matches: bool
    first_diverged_step: str | None
    diff: RunDiff
    artifact: tuple[str, str, str] | None = None
    expected_hash: str | None = None
    new_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the diff (what ``flowkit reproduce --json`` prints)."""
        return {
            "original": self.original,
            "new_run": self.new_run,
            "status": self.status,
            "matches": self.matches,
            "first_diverged_step": self.first_diverged_step,
            "artifact": list(self.artifact) if self.artifact else None,
            "expected_hash": self.expected_hash,
            "new_hash": self.new_hash,
            "diff": self.diff.to_dict(),
        }

    def _repr_html_(self) -> str:
        from html import escape

        return f"<div><strong>{escape(str(self))}</strong></div>{self.diff._repr_html_()}"

    def __str__(self) -> str:
        what, plural = "outputs", ""
        if self.artifact is not None:
            step, task_id, name = self.artifact
            what, plural = f"artifact {step}.{name} (task {task_id})", "es"
        if self.matches:
            verdict = f"reproduced: {what} match{plural}"
        else:
            verdict = f"NOT reproduced: {what} differ{plural[1:]}"
            if self.first_diverged_step:
                verdict += f"; first diverging step: {self.first_diverged_step}"
        lines = [f"{self.original} re-run as {self.new_run} ({self.status}): {verdict}"]
        if self.artifact is not None:
            lines.append(f"  expected hash {self.expected_hash}")
            lines.append(f"  new hash      {self.new_hash}")
        return "\n".join(lines)


def reproduce_run(
    run: str | Run,
    artifact: str | ArtifactSpec | None = None,
    expected_hash: str | None = None,
    *,
    datastore_root: str | None = None,
    show_output: bool = False,
) -> Reproduction:
    """Re-run ``run``'s code snapshot with its parameters in a fresh run, and compare.

    Args:
        run: The run, or its pathspec ``"Flow/run"``.
        artifact: The artifact whose hash decides: ``"step.name"``, ``("step", "name")`` (the
            step must have one task) or ``("step", "task_id", "name")``. ``None``: every
            step's outputs decide.
        expected_hash: The content hash the artifact should have (e.g. a registry version's);
            by default its hash in the original run.
        datastore_root: The datastore of a run given by pathspec (default: found as usual).
            The fresh run is written to the same datastore.
        show_output: Print the fresh run's output while it runs.

    Returns:
        The :class:`Reproduction`, with the fresh run's pathspec and the diff.

    Raises:
        ReproduceError: The run has no code snapshot, or the artifact is named ambiguously.
        ArtifactNotFound: The original task has no such artifact.
        RunnerError: The fresh run could not start (its output is in the message).
    """
    original = (
        run
        if isinstance(run, Run)
        else ClientContext(datastore_root, chosen_by="datastore_root").run(run)
    )
    target = _artifact_task(original, artifact) if artifact is not None else None
    if target is not None and expected_hash is None:
        expected_hash = target[0].artifacts[target[1]].sha
    code = original.code
    if code is None:
        raise ReproduceError(
            f"the run {original.pathspec} has no code snapshot to re-run",
            hint="runs started with `python FLOW.py run` store one; re-run such a run",
        )
    root = original.datastore_root  # the fresh run goes where the original is
    with tempfile.TemporaryDirectory(prefix="flowkit-reproduce-") as work:
        folder = code.extract(Path(work) / "code")
        flow_file = folder / code.script_name
        params = _parameters(original, flow_file, Path(work) / "included")
        env = {REPRODUCING_ENV: original.pathspec}  # its steps register nothing
        with Runner(
            flow_file, show_output=show_output, env=env, cwd=folder, datastore_root=root
        ) as runner:
            handle = runner.run(tags=[f"{REPRODUCES_TAG}{original.pathspec}"], **params)
            fresh = handle.run
            assert fresh is not None  # run() raises when no run was created
    diff = diff_runs(original, fresh)
    new_hash: str | None = None
    if target is not None:
        task, name = target
        new_task = _matching_task(fresh, task)
        if new_task is not None and name in new_task.artifacts:
            new_hash = new_task.artifacts[name].sha
        matches = new_hash == expected_hash
    else:
        matches = fresh.successful and diff.outputs_equal
    return Reproduction(
        original=original.pathspec,
        new_run=fresh.pathspec,
        status=fresh.status,
        matches=matches,
        first_diverged_step=None if matches else diff.first_diverged_step,
        diff=diff,
        artifact=(task.parent.id, task.id, name) if target is not None else None,
        expected_hash=expected_hash,
        new_hash=new_hash,
    )


def parse_artifact(spec: str | ArtifactSpec) -> ArtifactSpec:
    """``"train.model"`` -> ``("train", "model")``, ``"train/5.model"`` -> ``("train", "5",
    "model")``; tuples are returned as they are.

    Raises:
        ReproduceError: The text is neither ``STEP.NAME`` nor ``STEP/TASK_ID.NAME``.
    """
    if not isinstance(spec, str):
        return spec
    where, dot, name = spec.rpartition(".")
    step, slash, task_id = where.partition("/")
    if not (dot and step and name) or (slash and not task_id):
        raise ReproduceError(
            f"{spec!r} does not name an artifact",
            hint="name it as STEP.NAME (e.g. train.model), or STEP/TASK_ID.NAME for a step "
            "with several tasks",
        )
    return (step, task_id, name) if slash else (step, name)


def _artifact_task(run: Run, spec: str | ArtifactSpec) -> tuple[Task, str]:
    """The original task holding the artifact, and the artifact's name (checked to exist)."""
    parts = parse_artifact(spec)
    step = run[parts[0]]
    if len(parts) == 3:
        task, name = step[parts[1]], parts[2]
    else:
        tasks, name = step.tasks(), parts[1]
        if len(tasks) != 1:
            ids = ", ".join(t.id for t in tasks)
            raise ReproduceError(
                f"the step {step.pathspec} has {len(tasks)} tasks: say which one holds {name!r}",
                hint=f"name the task too (STEP/TASK_ID.NAME, or a (step, task_id, name) "
                f"tuple), one of: {ids}",
            )
        task = tasks[0]
    task.artifacts[name]  # raises ArtifactNotFound, naming the task's artifacts
    return task, name


def _matching_task(fresh: Run, task: Task) -> Task | None:
    """The fresh run's task at the same place (step, foreach indexes, loop pass) as ``task``."""
    step = task.parent.id
    if step not in fresh:
        return None
    original_keys = collect(task.parent.tasks()).steps.get(step, {})
    key: TaskKey | None = next(
        (k for k, t in original_keys.items() if t.pathspec == task.pathspec), None
    )
    if key is None:
        return None
    return collect(fresh[step].tasks()).steps.get(step, {}).get(key)


def _parameters(run: Run, flow_file: Path, folder: Path) -> dict[str, Any]:
    """The run's parameters as ``Runner.run`` keyword arguments.

    An ``IncludeFile`` recorded the file's contents, not its path: they are written to a file
    under ``folder`` and its path is passed.
    """
    declared = read_flow_parameters(flow_file).params
    by_attr = {p.attr_name: p for p in declared.values()}
    values: dict[str, Any] = {}
    for name, value in run.parameters.items():
        param = by_attr.get(name) or declared.get(name)
        if isinstance(param, IncludeFile) and value is not None:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            if isinstance(value, bytes):
                path.write_bytes(value)
            else:
                path.write_text(str(value), encoding=param.encoding)
            value = str(path)
        values[name] = value
    return values
