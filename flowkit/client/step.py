"""A step of a run: its tasks, in foreach order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowkit.client.base import ClientObject
from flowkit.client.context import ClientContext, default_context
from flowkit.client.pathspec import split_pathspec
from flowkit.client.render import fmt_duration, fmt_time, html_card, html_table, when
from flowkit.client.summary import task_order, task_row
from flowkit.client.task import Task
from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import TaskManifest

if TYPE_CHECKING:
    import pandas as pd

    from flowkit.client.run import Run


class Step(ClientObject):
    """One step of a run, e.g. ``Step("TrainFlow/12/train")``.

    Iterating gives its finished tasks in foreach order (outer index first), so
    ``[t.data.score for t in run["evaluate"]]`` lines up with the list the foreach went over.
    ``len(step)`` counts its tasks without reading them, including any still running.

    Args:
        pathspec: ``Flow/run/step``.

    Raises:
        PathspecError: The pathspec does not name a step.
        FlowNotFound, RunNotFound: The flow or run does not exist, or the run has no task of
            that step (the message suggests the closest step name).
        NamespaceMismatch: The run is outside the namespace that is set.
    """

    _kind = "step"

    def __init__(self, pathspec: str) -> None:
        self._open_in(default_context(), pathspec)

    @classmethod
    def _open(cls, context: ClientContext, pathspec: str) -> Step:
        step = cls.__new__(cls)
        step._open_in(context, pathspec)
        return step

    def _open_in(self, context: ClientContext, pathspec: str) -> None:
        from flowkit.client.run import Run

        flow, run_id, name = split_pathspec(pathspec, "step")
        store = context.flow_store(flow)
        run_pathspec = f"{flow}/{run_id}"
        run = Run._open(context, run_pathspec) if context.namespace is not None else None
        if not store.tasks(run_id, name):
            run = run or Run._open(context, run_pathspec)  # raises if it is missing
            raise run._step_not_found(name)
        self._setup(context, store, run_id, name, run)

    @classmethod
    def _build(
        cls,
        context: ClientContext,
        store: FlowDatastore,
        run_id: str,
        name: str,
        run: Run | None = None,
    ) -> Step:
        step = cls.__new__(cls)
        step._setup(context, store, run_id, name, run)
        return step

    def _setup(
        self,
        context: ClientContext,
        store: FlowDatastore,
        run_id: str,
        name: str,
        run: Run | None,
    ) -> None:
        ClientObject.__init__(self, f"{store.flow_name}/{run_id}/{name}", context, store)
        self._run_id = run_id
        self._name = name
        self._run = run

    @property
    def parent(self) -> Run:
        """The run."""
        if self._run is None:
            from flowkit.client.run import Run

            self._run = Run._build(self._context, self._store, self._store.run_record(self._run_id))
        return self._run

    def _manifests(self) -> list[TaskManifest]:
        found = []
        for task_id in self._store.tasks(self._run_id, self._name):
            attempts = self._store.attempts(self._run_id, self._name, task_id)
            if attempts:  # a task without a manifest has not finished yet
                found.append(self._store.read_manifest(self._run_id, self._name, task_id))
        return sorted(found, key=task_order)

    def tasks(self) -> list[Task]:
        """The finished tasks, in foreach order (reads one manifest per task)."""
        return [Task._build(self._context, self._store, m, self) for m in self._manifests()]

    def __iter__(self) -> Iterator[Task]:
        return iter(self.tasks())

    def __len__(self) -> int:
        return len(self._store.tasks(self._run_id, self._name))

    @property
    def task(self) -> Task | None:
        """The step's task; for a step with several, the one with the lowest id."""
        for task_id in self._store.tasks(self._run_id, self._name):
            if self._store.attempts(self._run_id, self._name, task_id):
                manifest = self._store.read_manifest(self._run_id, self._name, task_id)
                return Task._build(self._context, self._store, manifest, self)
        return None

    def __getitem__(self, task_id: str) -> Task:
        return Task._open(self._context, f"{self.pathspec}/{task_id}")

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._store.tasks(self._run_id, self._name)  # compares names only

    @property
    def created_at(self) -> datetime | None:
        """When its first task started."""
        return when(min((m.started_at for m in self._manifests()), default=None))

    @property
    def finished_at(self) -> datetime | None:
        """When its last task finished."""
        return when(max((m.finished_at for m in self._manifests()), default=None))

    def to_frame(self, *artifacts: str) -> pd.DataFrame:
        """One row per task; the values of the named artifacts become columns.

        Only the artifacts named are loaded, e.g. ``run["train"].to_frame("score")``.

        Raises:
            ArtifactNotFound: A task lacks one of the named artifacts.
        """
        from flowkit.client.frames import tasks_frame

        rows = []
        for task in self.tasks():
            row = task_row(task._manifest)
            for name in artifacts:
                row[name] = task.artifacts[name].data
            rows.append(row)
        return tasks_frame(rows)

    def _summary(self) -> str:
        count = len(self)
        return f"{count} task{'s' if count != 1 else ''}"

    def _repr_html_(self) -> str:
        manifests = self._manifests()
        rows = [
            (
                m.task_id,
                m.foreach_stack[-1].index if m.foreach_stack else "",
                m.status,
                fmt_time(when(m.started_at)),
                fmt_duration(m.finished_at - m.started_at),
                len(m.artifacts),
            )
            for m in manifests
        ]
        table = html_table(("task", "index", "status", "started", "duration", "artifacts"), rows)
        fields: list[tuple[str, Any]] = [("tasks", len(manifests))]
        return html_card(f"Step {self.pathspec}", fields, ("tasks", table))
