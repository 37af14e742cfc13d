"""What a diff of two runs holds: plain records, JSON-ready, rendered by :mod:`.render`.

A :class:`RunDiff` is built by :func:`flowkit.client.diff.diff_runs` from the two runs'
records and manifests; only the values of artifacts whose hashes differ are ever loaded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from flowkit.errors import FlowkitError

#: How one thing compares between run a and run b.
Status = Literal["equal", "different", "only_a", "only_b"]


class DiffError(FlowkitError):
    """Two runs cannot be compared (a run is missing, or named ambiguously)."""

    exit_code = 2
    headline = "diff error"


@dataclass(frozen=True)
class ParameterChange:
    """A parameter that is not the same in both runs.

    Attributes:
        name: The parameter's name.
        status: ``"different"``, ``"only_a"`` (removed in b) or ``"only_b"`` (added in b).
        a: Its value in run a (``None`` when absent).
        b: Its value in run b (``None`` when absent).
    """

    name: str
    status: Status
    a: Any = None
    b: Any = None


@dataclass(frozen=True)
class FileDiff:
    """One file of the code snapshots that is not the same in both runs.

    Attributes:
        path: The file's path in the snapshot (b's, or a's when removed).
        status: ``"different"``, ``"only_a"`` (removed in b) or ``"only_b"`` (added in b).
        diff: Unified diff of the text (``"binary files differ"`` for bytes).
        path_a: The path in a's snapshot when it differs from ``path`` (a renamed flow file).
    """

    path: str
    status: Status
    diff: str
    path_a: str | None = None


@dataclass
class ArtifactDiff:
    """One artifact name of one step, compared task by task.

    Attributes:
        name: The artifact's name.
        status: ``"equal"`` (same content hash in every matched task), ``"different"``,
            ``"only_a"`` or ``"only_b"`` (stored by that run's tasks only).
        produced: Whether the step set or changed it (in either run), rather than only carrying
            it over from the task before.
        tasks: Labels of the matched tasks where it differs (``"train[2]"``).
        type_a: Its type in run a, e.g. ``"builtins.float"``.
        type_b: Its type in run b.
        sha_a: Its content hash in run a (the first differing task's).
        sha_b: Its content hash in run b.
        summary: A typed summary of the change (see :mod:`.values`); ``None`` when equal.
    """

    name: str
    status: Status
    produced: bool = True
    tasks: list[str] = field(default_factory=list)
    type_a: str | None = None
    type_b: str | None = None
    sha_a: str | None = None
    sha_b: str | None = None
    summary: dict[str, Any] | None = None


@dataclass
class StepDiff:
    """One step, its tasks matched by foreach index path and loop iteration.

    Attributes:
        step: The step's name.
        status: ``"equal"`` when every task of either run has a match with the same artifacts,
            ``"different"``, or ``"only_a"``/``"only_b"`` for a step one run did not take.
        tasks_a: How many tasks the step has in run a.
        tasks_b: How many in run b.
        unmatched_a: Labels of a's tasks without a match in b (a foreach that got shorter).
        unmatched_b: Labels of b's tasks without a match in a.
        artifacts: Artifact name -> how it compares, sorted by name.
        status_changes: Matched tasks that succeeded in one run and failed in the other:
            ``"train[2]: succeeded -> failed"``.
    """

    step: str
    status: Status
    tasks_a: int = 0
    tasks_b: int = 0
    unmatched_a: list[str] = field(default_factory=list)
    unmatched_b: list[str] = field(default_factory=list)
    artifacts: dict[str, ArtifactDiff] = field(default_factory=dict)
    status_changes: list[str] = field(default_factory=list)

    @property
    def changed_artifacts(self) -> list[ArtifactDiff]:
        """The artifacts that are not equal."""
        return [a for a in self.artifacts.values() if a.status != "equal"]


@dataclass(frozen=True)
class DatasetDiff:
    """A dataset a step read or wrote (catalog lineage), compared between the runs.

    Attributes:
        step: The step that read or wrote it.
        dataset: The dataset's name in the catalog.
        mode: What the step did with it, as the lineage records it (e.g. ``"load"``).
        status: ``"equal"``, ``"different"``, ``"only_a"`` or ``"only_b"``.
        changed: The lineage fields that differ (``content_hash``, ``location``...).
        a: Run a's lineage entry (``None`` when absent).
        b: Run b's lineage entry.
    """

    step: str
    dataset: str
    mode: str
    status: Status
    changed: tuple[str, ...] = ()
    a: dict[str, Any] | None = None
    b: dict[str, Any] | None = None


@dataclass
class RunDiff:
    """How two runs differ: parameters, code, step outputs, datasets, first divergence.

    ``str(diff)`` is the text ``flowkit diff`` prints; a notebook shows an HTML view.

    Attributes:
        run_a: Pathspec of the first run.
        run_b: Pathspec of the second run.
        parameters: The parameters that differ.
        code: The files of the code snapshots that differ.
        steps: Every step of either run, in DAG order (parents before children).
        datasets: Every dataset either run's steps read or wrote (equal ones included).
        first_diverged_step: The first step, in DAG order, whose outputs differ.
        first_diverged_task: The label of that step's first differing task (``"work[2]"``).
        notes: What could not be compared, and warnings (e.g. runs of different flows).
    """

    run_a: str
    run_b: str
    parameters: list[ParameterChange] = field(default_factory=list)
    code: list[FileDiff] = field(default_factory=list)
    steps: list[StepDiff] = field(default_factory=list)
    datasets: list[DatasetDiff] = field(default_factory=list)
    first_diverged_step: str | None = None
    first_diverged_task: str | None = None
    notes: list[str] = field(default_factory=list)
    same_flow: bool = True

    @property
    def outputs_equal(self) -> bool:
        """Whether every step has the same tasks with the same artifacts in both runs."""
        return all(step.status == "equal" for step in self.steps)

    @property
    def equal(self) -> bool:
        """Whether nothing differs: flow, parameters, code, outputs and datasets."""
        return (
            self.same_flow
            and not self.parameters
            and not self.code
            and self.outputs_equal
            and all(d.status == "equal" for d in self.datasets)
        )

    def __bool__(self) -> bool:
        # `if run_a.diff(run_b):` reads as "if they differ", like a non-empty diff
        return not self.equal

    def step(self, name: str) -> StepDiff:
        """The comparison of one step.

        Raises:
            DiffError: Neither run has that step.
        """
        for step in self.steps:
            if step.step == name:
                return step
        names = ", ".join(s.step for s in self.steps)
        raise DiffError(f"neither run has a step {name!r}", hint=f"use one of: {names}")

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (what ``flowkit diff --json`` prints)."""
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "equal": self.equal,
            "outputs_equal": self.outputs_equal,
            "same_flow": self.same_flow,
            "first_diverged_step": self.first_diverged_step,
            "first_diverged_task": self.first_diverged_task,
            "parameters": [asdict(p) for p in self.parameters],
            "code": [asdict(f) for f in self.code],
            "steps": [
                {
                    **{k: v for k, v in asdict(s).items() if k != "artifacts"},
                    "artifacts": [asdict(a) for a in s.artifacts.values()],
                }
                for s in self.steps
            ],
            "datasets": [asdict(d) for d in self.datasets],
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        from flowkit.client.diff.render import render_text

        return render_text(self)

    def __repr__(self) -> str:
        verdict = "equal" if self.equal else "different"
        if self.first_diverged_step:
            verdict += f", outputs diverge at {self.first_diverged_step}"
        return f"<RunDiff {self.run_a} vs {self.run_b}: {verdict}>"

    def _repr_html_(self) -> str:
        from flowkit.client.diff.render import render_html

        return render_html(self)
