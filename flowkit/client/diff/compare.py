"""Build a :class:`RunDiff` of two runs: parameters, code, step outputs, datasets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowkit.client.diff.code import diff_code
from flowkit.client.diff.match import RunTasks, TaskKey, collect, label, step_order
from flowkit.client.diff.model import (
    ArtifactDiff,
    DatasetDiff,
    ParameterChange,
    RunDiff,
    Status,
    StepDiff,
)
from flowkit.client.diff.values import summarize_change
from flowkit.client.task import Task

if TYPE_CHECKING:
    from flowkit.client.run import Run

#: Artifacts larger than this (serialized) are compared by hash only, never loaded.
MAX_LOAD_BYTES = 256 * 2**20
#: The lineage fields that say whether two runs read the same data.
LINEAGE_FIELDS = ("location", "profile", "content_hash", "rows", "schema_hash", "snapshot")


def diff_runs(run_a: Run, run_b: Run, *, max_load_bytes: int = MAX_LOAD_BYTES) -> RunDiff:
    """Compare two runs; see :meth:`flowkit.client.Run.diff`.

    Artifacts are compared by content hash; a value is loaded only to summarize a difference
    (once per pair of hashes), and never when it is larger than ``max_load_bytes``.

    Args:
        run_a: The run compared from ("a", the old one).
        run_b: The run compared to ("b", the new one).
        max_load_bytes: Serialized size above which a differing artifact is not loaded.
    """
    diff = RunDiff(run_a.pathspec, run_b.pathspec)
    flow_a, flow_b = run_a.parent.id, run_b.parent.id
    if flow_a != flow_b:
        diff.same_flow = False
        diff.notes.append(
            f"the runs are of different flows ({flow_a} and {flow_b}): steps are matched by name"
        )
    for run, which in ((run_a, "a"), (run_b, "b")):
        if run.status != "succeeded":
            diff.notes.append(f"run {which} ({run.pathspec}) is {run.status}")
    diff.parameters = _parameters(run_a, run_b)
    diff.code, notes = diff_code(run_a.code, run_b.code)
    diff.notes += notes
    tasks_a = collect(t for step in run_a for t in step)
    tasks_b = collect(t for step in run_b for t in step)
    skip = set(run_a.parameters) | set(run_b.parameters)  # shown under parameters
    summaries = _Summaries(max_load_bytes)
    first: tuple[int, int, str, str] | None = None
    for position, step in enumerate(step_order(tasks_a, tasks_b)):
        step_diff, diverged = _compare_step(step, tasks_a, tasks_b, skip, summaries)
        diff.steps.append(step_diff)
        for depth, task_label in diverged:
            candidate = (depth, position, step, task_label)
            if first is None or candidate < first:
                first = candidate
    if first is not None:
        diff.first_diverged_step, diff.first_diverged_task = first[2], first[3]
    diff.datasets = _datasets(tasks_a, tasks_b)
    return diff


def _parameters(run_a: Run, run_b: Run) -> list[ParameterChange]:
    refs_a, refs_b = run_a._record.parameters, run_b._record.parameters
    values_a, values_b = run_a.parameters, run_b.parameters
    changes = []
    for name in sorted(set(refs_a) | set(refs_b)):
        if name not in refs_b:
            changes.append(ParameterChange(name, "only_a", a=values_a[name]))
        elif name not in refs_a:
            changes.append(ParameterChange(name, "only_b", b=values_b[name]))
        elif refs_a[name].sha != refs_b[name].sha:
            changes.append(ParameterChange(name, "different", values_a[name], values_b[name]))
    return changes


class _Summaries:
    """Typed summaries of differing values, each pair of hashes loaded at most once."""

    def __init__(self, max_load_bytes: int) -> None:
        self.max_load_bytes = max_load_bytes
        self._done: dict[tuple[str, str], dict[str, Any]] = {}

    def get(self, task_a: Task, task_b: Task, name: str) -> dict[str, Any]:
        art_a, art_b = task_a.artifacts[name], task_b.artifacts[name]
        key = (art_a.sha, art_b.sha)
        if key not in self._done:
            self._done[key] = self._summarize(task_a, task_b, name)
        return self._done[key]

    def _summarize(self, task_a: Task, task_b: Task, name: str) -> dict[str, Any]:
        art_a, art_b = task_a.artifacts[name], task_b.artifacts[name]
        largest = max(art_a.size, art_b.size)
        if largest > self.max_load_bytes:
            return {
                "kind": "not_loaded",
                "reason": f"not loaded: {largest} bytes is more than {self.max_load_bytes}",
            }
        try:
            return summarize_change(art_a.data, art_b.data)
        except Exception as exc:  # unpickling runs the user's code: any error may come out
            return {"kind": "not_loaded", "reason": f"not loaded: {type(exc).__name__}: {exc}"}


def _compare_step(
    step: str, tasks_a: RunTasks, tasks_b: RunTasks, skip: set[str], summaries: _Summaries
) -> tuple[StepDiff, list[tuple[int, str]]]:
    """One step's comparison, and the (depth, label) of each of its diverging tasks."""
    keyed_a, keyed_b = tasks_a.steps.get(step, {}), tasks_b.steps.get(step, {})
    result = StepDiff(step, "equal", len(keyed_a), len(keyed_b))
    diverged: list[tuple[int, str]] = []
    for key, task in keyed_a.items():
        if key not in keyed_b:
            result.unmatched_a.append(label(step, key))
            diverged.append((tasks_a.depth[task.pathspec], label(step, key)))
    for key, task in keyed_b.items():
        if key not in keyed_a:
            result.unmatched_b.append(label(step, key))
            diverged.append((tasks_b.depth[task.pathspec], label(step, key)))
    artifacts: dict[str, ArtifactDiff] = {}
    for key in (k for k in keyed_a if k in keyed_b):
        task_a, task_b = keyed_a[key], keyed_b[key]
        differs = task_a.status != task_b.status
        if differs:
            result.status_changes.append(f"{label(step, key)}: {task_a.status} -> {task_b.status}")
        if _compare_tasks(step, key, task_a, task_b, tasks_a, tasks_b, skip, artifacts, summaries):
            differs = True
        if differs:
            diverged.append((tasks_a.depth[task_a.pathspec], label(step, key)))
    result.artifacts = dict(sorted(artifacts.items()))
    if not keyed_b:
        result.status = "only_a"
    elif not keyed_a:
        result.status = "only_b"
    elif diverged:
        result.status = "different"
    return result, diverged


def _compare_tasks(
    step: str,
    key: TaskKey,
    task_a: Task,
    task_b: Task,
    tasks_a: RunTasks,
    tasks_b: RunTasks,
    skip: set[str],
    artifacts: dict[str, ArtifactDiff],
    summaries: _Summaries,
) -> bool:
    """Compare one pair of matched tasks into ``artifacts``; whether any artifact differs."""
    refs_a = {a.id: a for a in task_a.artifacts if a.id not in skip}
    refs_b = {a.id: a for a in task_b.artifacts if a.id not in skip}
    differs = False
    for name in set(refs_a) | set(refs_b):
        art_a, art_b = refs_a.get(name), refs_b.get(name)
        status: Status
        if art_a is None:
            status = "only_b"
        elif art_b is None:
            status = "only_a"
        else:
            status = "equal" if art_a.sha == art_b.sha else "different"
        entry = artifacts.get(name)
        if entry is None:
            entry = artifacts[name] = ArtifactDiff(name, "equal", produced=False)
            entry.type_a = art_a.type if art_a else None
            entry.type_b = art_b.type if art_b else None
        entry.produced = entry.produced or (
            _produced(task_a, name, tasks_a) or _produced(task_b, name, tasks_b)
        )
        if status == "equal":
            continue
        differs = True
        entry.tasks.append(label(step, key))
        if entry.status == "equal":  # the first differing task describes the change
            entry.status = status
            entry.sha_a = art_a.sha if art_a else None
            entry.sha_b = art_b.sha if art_b else None
            entry.type_a = art_a.type if art_a else None
            entry.type_b = art_b.type if art_b else None
            if status == "different":
                entry.summary = summaries.get(task_a, task_b, name)
        elif entry.status != status:
            entry.status = "different"
    return differs


def _produced(task: Task, name: str, run_tasks: RunTasks) -> bool:
    """Whether ``task`` set or changed ``name``, rather than carrying a parent's value on."""
    if name not in task.artifacts:
        return False
    sha = task.artifacts[name].sha
    for parent in task.parent_task_pathspecs:
        other = run_tasks.by_path.get(parent)
        if other is not None and name in other.artifacts and other.artifacts[name].sha == sha:
            return False
    return True


def _lineage(run_tasks: RunTasks) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The first lineage entry of each (step, dataset, mode) of a run's tasks."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for step, keyed in run_tasks.steps.items():
        for task in keyed.values():
            # `task.lineage` comes with the data catalog; older clients have none
            for entry in getattr(task, "lineage", None) or []:
                record = dict(entry)
                key = (step, str(record.get("dataset", "")), str(record.get("mode") or ""))
                found.setdefault(key, record)
    return found


def _datasets(tasks_a: RunTasks, tasks_b: RunTasks) -> list[DatasetDiff]:
    lineage_a, lineage_b = _lineage(tasks_a), _lineage(tasks_b)
    found = []
    for key in sorted(set(lineage_a) | set(lineage_b)):
        a, b = lineage_a.get(key), lineage_b.get(key)
        status: Status
        changed: tuple[str, ...] = ()
        if a is None:
            status = "only_b"
        elif b is None:
            status = "only_a"
        else:
            changed = tuple(f for f in LINEAGE_FIELDS if a.get(f) != b.get(f))
            status = "different" if changed else "equal"
        found.append(DatasetDiff(*key, status=status, changed=changed, a=a, b=b))
    return found
