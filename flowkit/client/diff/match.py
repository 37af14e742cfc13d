"""Pair the tasks of two runs, and put steps in DAG order, from the runs' manifests alone.

A task is known by its step, its foreach index path (outermost first; a ``@parallel`` gang's
node index is one level too) and its loop iteration: ``train[2]``, ``inner[0.1]``,
``loop_step#3``. Two runs' tasks with the same key are compared with each other, so a foreach
of a different width leaves unmatched splits, and a switch's branch taken by one run only is a
step of that run only.

The order is the runs' own task DAG (each manifest names its parent tasks), so it needs no
flow source: a task's depth is the longest chain of parents above it, a step's rank the
smallest depth of its tasks. Loop passes come out in order, and a join after all its branches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flowkit.client.summary import task_order
from flowkit.client.task import Task

#: (foreach index path, loop iteration, n-th task of that kind in its step)
TaskKey = tuple[tuple[int, ...], int, int]


@dataclass
class RunTasks:
    """One run's finished tasks, keyed for matching, with their depth in the task DAG.

    Attributes:
        steps: Step name -> task key -> task, in task order.
        depth: Task pathspec -> length of the longest chain of parent tasks above it.
        by_path: Task pathspec -> task.
    """

    steps: dict[str, dict[TaskKey, Task]]
    depth: dict[str, int]
    by_path: dict[str, Task]

    def rank(self, step: str) -> int | None:
        """The smallest depth of the step's tasks (``None`` when the run lacks the step)."""
        tasks = self.steps.get(step)
        if not tasks:
            return None
        return min(self.depth[t.pathspec] for t in tasks.values())


def collect(tasks: Iterable[Task]) -> RunTasks:
    """Key the tasks of one run and measure their depth."""
    by_step: dict[str, list[Task]] = {}
    for task in tasks:
        by_step.setdefault(task.parent.id, []).append(task)
    steps: dict[str, dict[TaskKey, Task]] = {}
    for step, found in by_step.items():
        keyed: dict[TaskKey, Task] = {}
        seen: dict[tuple[tuple[int, ...], int], int] = {}
        for task in sorted(found, key=lambda t: task_order(t._manifest)):
            where = (tuple(f.index for f in task.foreach_stack), task.iteration)
            # two tasks with one key (a run recorded oddly): keep both, in task order
            count = seen[where] = seen.get(where, -1) + 1
            keyed[(where[0], where[1], count)] = task
        steps[step] = keyed
    all_tasks = {t.pathspec: t for keyed in steps.values() for t in keyed.values()}
    return RunTasks(steps, _depths(all_tasks), all_tasks)


def _depths(tasks: dict[str, Task]) -> dict[str, int]:
    depth: dict[str, int] = {}
    for start in tasks:
        stack = [start]
        while stack:  # iterative: a long loop is a long chain of parents
            current = stack[-1]
            if current in depth:
                stack.pop()
                continue
            parents = [p for p in tasks[current].parent_task_pathspecs if p in tasks]
            waiting = [p for p in parents if p not in depth and p not in stack]
            if waiting:
                stack.extend(waiting)
                continue
            depth[current] = 1 + max((depth.get(p, -1) for p in parents), default=-1)
            stack.pop()
    return depth


def step_order(a: RunTasks, b: RunTasks) -> list[str]:
    """Every step of either run, parents before children (ties by name)."""

    def rank(step: str) -> int:
        ranks = [r for r in (a.rank(step), b.rank(step)) if r is not None]
        return min(ranks)

    return sorted(set(a.steps) | set(b.steps), key=lambda step: (rank(step), step))


def label(step: str, key: TaskKey) -> str:
    """How people read a task key: ``train``, ``train[2]``, ``inner[0.1]``, ``loop_step#3``."""
    path, iteration, count = key
    text = step + (f"[{'.'.join(map(str, path))}]" if path else "")
    if iteration:
        text += f"#{iteration}"
    if count:
        text += f"~{count}"
    return text
