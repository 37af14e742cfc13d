"""``TaskSpec``: everything needed to run one task, as decided by the scheduler."""

from __future__ import annotations

from dataclasses import dataclass, field

from flowkit.datastore.manifest import ArtifactRef, ForeachFrame, TaskManifest


@dataclass(frozen=True, slots=True)
class ParentRef:
    """Which task attempt a task takes its inputs from: an identity, not the manifest itself.

    A join over a 100,000-way foreach has 100,000 parents; the runner keeps only these small
    identities and the join task reads the manifests itself, in its own process.

    Attributes:
        flow: Flow name.
        run_id: Run of the parent (the current run; clones of a resume are written there too).
        step: Step of the parent.
        task_id: Task id of the parent.
        attempt: The parent's successful attempt; ``None`` means the latest one stored.
        origin: For a parent cloned by resume, the pathspec of the task it was cloned from.
    """

    flow: str
    run_id: str
    step: str
    task_id: str
    attempt: int | None = None
    origin: str | None = None

    @property
    def pathspec(self) -> str:
        """``Flow/run/step/task``."""
        return f"{self.flow}/{self.run_id}/{self.step}/{self.task_id}"

    @classmethod
    def of(cls, manifest: TaskManifest) -> ParentRef:
        """The identity of the task attempt ``manifest`` records."""
        return cls(
            manifest.flow,
            manifest.run_id,
            manifest.step,
            manifest.task_id,
            manifest.attempt,
            manifest.origin_pathspec,
        )


@dataclass
class TaskSpec:
    """One task to run.

    Attributes:
        step: Step name.
        task_id: Task id within the run.
        attempt: Attempt number (0 first).
        parents: The tasks whose outputs are this task's inputs (several for a join).
        foreach: Foreach levels enclosing the task, outermost first.
        params: The run's parameter artifacts (always inherited).
        timeout: Seconds after which the executor kills the task (``@timeout``).
        inputs: The manifest of the only parent of a non-join task, when the launcher already
            holds it (saves a read); ``None`` means the task reads its parents' manifests.
        iteration: Which pass of its step this task is (0 unless the step is inside a loop).
        env: Environment variables the launcher sets for this task only (a gang's facts).
    """

    step: str
    task_id: str
    attempt: int
    parents: list[ParentRef]
    foreach: list[ForeachFrame] = field(default_factory=list)
    params: dict[str, ArtifactRef] = field(default_factory=dict)
    timeout: float | None = None
    inputs: TaskManifest | None = None
    iteration: int = 0
    env: dict[str, str] = field(default_factory=dict)

    @property
    def parent_pathspecs(self) -> list[str]:
        """Pathspecs of the parent tasks."""
        return [p.pathspec for p in self.parents]
