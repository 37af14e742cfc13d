"""``TaskSpec``: everything needed to run one task, as decided by the scheduler."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowkit.datastore.manifest import ArtifactRef, TaskManifest
from flowkit.dsl.state import ForeachLevel


@dataclass
class TaskSpec:
    """One task to run.

    Attributes:
        step: Step name.
        task_id: Task id within the run.
        attempt: Attempt number (0 first).
        parents: Manifests of the tasks whose outputs are this task's inputs (several for a join).
        foreach: Foreach levels enclosing the task, outermost first.
        params: The run's parameter artifacts (always inherited).
        timeout: Seconds after which the executor kills the task (``@timeout``).
    """

    step: str
    task_id: str
    attempt: int
    parents: list[TaskManifest]
    foreach: list[ForeachLevel] = field(default_factory=list)
    params: dict[str, ArtifactRef] = field(default_factory=dict)
    timeout: float | None = None

    @property
    def parent_pathspecs(self) -> list[str]:
        """Pathspecs of the parent tasks."""
        return [p.pathspec for p in self.parents]


def levels_to_json(levels: list[ForeachLevel]) -> list[dict[str, Any]]:
    """Foreach levels as plain JSON (stored in the manifest's ``extra``)."""
    return [
        {
            "step": lv.step,
            "index": lv.index,
            "num_splits": lv.num_splits,
            "var": lv.var,
            "items": lv.items_ref.sha if lv.items_ref is not None else None,
        }
        for lv in levels
    ]


def levels_from_manifest(manifest: TaskManifest) -> list[ForeachLevel]:
    """The foreach levels a task ran in, read back from its manifest."""
    return levels_from_json(manifest.extra.get("foreach", []))


def levels_from_json(levels: list[dict[str, Any]]) -> list[ForeachLevel]:
    """Parse the output of :func:`levels_to_json`."""
    out = []
    for raw in levels:
        items = raw.get("items")
        ref = ArtifactRef(sha=items, type="", size=0) if items else None
        out.append(ForeachLevel(raw["step"], raw["index"], raw["num_splits"], raw["var"], ref))
    return out
