"""A run at a glance: its steps in execution order, with task counts, status, time and output.

Built from the run's manifests alone (one read per task), so showing a run never loads an
artifact. The artifacts listed for a step are the ones its tasks *produced*: set or changed there,
not merely passed on from a parent task.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from flowkit.datastore.manifest import TaskManifest


@dataclass
class StepSummary:
    """One step of a run.

    Attributes:
        step: The step name.
        tasks: The finished tasks, in foreach order.
        produced: Artifact name -> (type, total size over the tasks) of what the step produced.
        complete: Whether every split of the step's foreach has a finished task (always true
            outside a foreach).
        running: Whether the run is still running (its missing tasks may yet finish).
    """

    step: str
    tasks: list[TaskManifest] = field(default_factory=list)
    produced: dict[str, tuple[str, int]] = field(default_factory=dict)
    complete: bool = True
    running: bool = False

    @property
    def failed(self) -> int:
        """How many tasks failed (stopped ones included)."""
        return sum(1 for m in self.tasks if m.status != "succeeded")

    @property
    def status(self) -> str:
        """``"failed"`` when a task failed, ``"killed"`` when tasks were only stopped by an
        interrupted run, ``"running"`` or ``"incomplete"`` when some splits have no finished
        task (while the run runs, or for good), else ``"succeeded"``."""
        failures = [m for m in self.tasks if m.status != "succeeded"]
        if failures:
            stopped = all(m.failure is not None and m.failure.kind == "killed" for m in failures)
            return "killed" if stopped else "failed"
        if not self.complete:
            return "running" if self.running else "incomplete"
        return "succeeded"

    @property
    def started_at(self) -> float:
        """When the first task started."""
        return min(m.started_at for m in self.tasks)

    @property
    def finished_at(self) -> float:
        """When the last task finished."""
        return max(m.finished_at for m in self.tasks)

    @property
    def duration(self) -> float:
        """Seconds from the first task's start to the last task's end."""
        return max(0.0, self.finished_at - self.started_at)


def summarize_steps(
    manifests: list[TaskManifest], parameters: Collection[str] = (), *, running: bool = False
) -> list[StepSummary]:
    """Group a run's manifests by step, in the order the steps started.

    Args:
        manifests: The latest manifest of every finished task of one run.
        parameters: Names of the run's parameters, never counted as produced by a step.
        running: Whether the run is still running.
    """
    by_path = {m.pathspec: m for m in manifests}
    steps: dict[str, StepSummary] = {}
    for manifest in sorted(manifests, key=lambda m: (m.started_at, task_order(m))):
        summary = steps.setdefault(manifest.step, StepSummary(manifest.step))
        summary.tasks.append(manifest)
        parents = [by_path[p] for p in manifest.parents if p in by_path]
        for name, ref in manifest.artifacts.items():
            if name in parameters or any(p.artifacts.get(name) == ref for p in parents):
                continue  # passed on unchanged
            type_name, size = summary.produced.get(name, (ref.type, 0))
            summary.produced[name] = (type_name, size + ref.size)
    for summary in steps.values():
        summary.tasks.sort(key=task_order)
        summary.complete = _every_split_present(summary.tasks)
        summary.running = running
    return list(steps.values())


def _every_split_present(tasks: list[TaskManifest]) -> bool:
    """Whether, at every foreach level, each group of splits seen has all its indexes."""
    depth = min((len(m.foreach_stack) for m in tasks), default=0)
    for level in range(depth):
        groups: dict[tuple[int, ...], tuple[int, set[int]]] = {}
        for m in tasks:
            frame = m.foreach_stack[level]
            outer = tuple(f.index for f in m.foreach_stack[:level])
            groups.setdefault(outer, (frame.num_splits, set()))[1].add(frame.index)
        if any(len(seen) < count for count, seen in groups.values()):
            return False
    return True


def task_order(manifest: TaskManifest) -> tuple[tuple[int, ...], int, bool, int, str]:
    """Sort key of tasks: foreach indexes, outermost first, then the pass of a loop, then the
    task id."""
    task_id = manifest.task_id
    numeric = task_id.isdigit()
    return (
        tuple(f.index for f in manifest.foreach_stack),
        manifest.iteration,
        not numeric,
        int(task_id) if numeric else 0,
        task_id,
    )


def task_row(manifest: TaskManifest) -> dict[str, Any]:
    """The table row of one task, for DataFrames."""
    return {
        "pathspec": manifest.pathspec,
        "step": manifest.step,
        "task_id": manifest.task_id,
        "index": manifest.foreach_stack[-1].index if manifest.foreach_stack else None,
        "iteration": manifest.iteration,
        "status": manifest.status,
        "attempt": manifest.attempt,
        "started_at": manifest.started_at,
        "finished_at": manifest.finished_at,
        "duration_s": max(0.0, manifest.finished_at - manifest.started_at),
        "origin_pathspec": manifest.origin_pathspec,
    }
