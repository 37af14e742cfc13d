"""A task: one execution of a step, read from its manifest (the latest attempt by default)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowkit.client.artifacts import ArtifactData, Artifacts, DataArtifact
from flowkit.client.base import ClientObject
from flowkit.client.context import ClientContext, default_context
from flowkit.client.pathspec import split_pathspec
from flowkit.client.render import (
    fmt_duration,
    fmt_size,
    fmt_time,
    html_card,
    html_table,
    short_type,
    when,
)
from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import ForeachFrame, TaskManifest
from flowkit.errors import RunNotFound

if TYPE_CHECKING:
    from flowkit.client.code import RunCode
    from flowkit.client.step import Step


@dataclass(frozen=True)
class TaskException:
    """What a failed task raised, as recorded in its manifest.

    Attributes:
        type: The exception's class name, e.g. ``"ValueError"``.
        message: ``str()`` of the exception.
        traceback: The user's traceback (flowkit's own frames removed).
        kind: What kind of failure it was: ``"exception"`` (the step raised), ``"timeout"``,
            ``"crashed"``, ``"killed"`` ... (see ``flowkit.datastore.FailureKind``).
    """

    type: str
    message: str
    traceback: str
    kind: str = "exception"

    def __str__(self) -> str:
        return self.traceback or f"{self.type}: {self.message}"


class Task(ClientObject):
    """One task, e.g. ``Task("TrainFlow/12/train/5")``.

    Args:
        pathspec: ``Flow/run/step/task``.
        attempt: Which attempt to read; the latest when ``None``.

    Raises:
        PathspecError: The pathspec does not name a task.
        FlowNotFound, RunNotFound: The flow, run, step or task does not exist, or the task has
            not finished (the message lists what does exist).
        NamespaceMismatch: The run is outside the namespace that is set.
    """

    _kind = "task"

    def __init__(self, pathspec: str, attempt: int | None = None) -> None:
        self._open_in(default_context(), pathspec, attempt)

    @classmethod
    def _open(cls, context: ClientContext, pathspec: str, attempt: int | None = None) -> Task:
        task = cls.__new__(cls)
        task._open_in(context, pathspec, attempt)
        return task

    def _open_in(self, context: ClientContext, pathspec: str, attempt: int | None) -> None:
        from flowkit.client.run import Run

        flow, run_id, step, task_id = split_pathspec(pathspec, "task")
        store = context.flow_store(flow)
        if context.namespace is not None:
            Run._open(context, f"{flow}/{run_id}")  # raises when outside the namespace
        try:
            manifest = store.read_manifest(run_id, step, task_id, attempt)
        except RunNotFound:
            raise _task_not_found(context, store, run_id, step, task_id, attempt) from None
        self._setup(context, store, manifest, None)

    @classmethod
    def _build(
        cls, context: ClientContext, store: FlowDatastore, manifest: TaskManifest, step: Step
    ) -> Task:
        task = cls.__new__(cls)
        task._setup(context, store, manifest, step)
        return task

    def _setup(
        self,
        context: ClientContext,
        store: FlowDatastore,
        manifest: TaskManifest,
        step: Step | None,
    ) -> None:
        ClientObject.__init__(self, manifest.pathspec, context, store)
        self._manifest = manifest
        self._step = step
        self._artifacts: Artifacts | None = None

    # -- where it sits -------------------------------------------------------------------

    @property
    def parent(self) -> Step:
        """The task's step."""
        if self._step is None:
            from flowkit.client.step import Step

            m = self._manifest
            self._step = Step._build(self._context, self._store, m.run_id, m.step)
        return self._step

    @property
    def index(self) -> int | None:
        """The task's position in the innermost foreach it runs in; ``None`` outside one."""
        stack = self._manifest.foreach_stack
        return stack[-1].index if stack else None

    @property
    def iteration(self) -> int:
        """Which pass of its step this task is, from 0 (a step inside a loop runs once per pass,
        each pass its own task; 0 for every other task)."""
        return self._manifest.iteration

    @property
    def parallel(self) -> dict[str, Any] | None:
        """For a task of a ``@parallel`` gang, its place in the gang as the task saw it.

        Returns:
            ``{"node_index", "num_nodes", "main_ip", "control_task_id"}``, or ``None`` for a
            task outside a gang (or one that failed before reading it).
        """
        data = self._manifest.plugin_data.get("parallel")
        return dict(data) if data else None

    @property
    def foreach_stack(self) -> list[ForeachFrame]:
        """Every foreach level the task runs in, outermost first (step, index, num_splits)."""
        return list(self._manifest.foreach_stack)

    @property
    def parent_task_pathspecs(self) -> list[str]:
        """Pathspecs of the tasks whose outputs were this task's inputs."""
        return list(self._manifest.parents)

    @property
    def origin_pathspec(self) -> str | None:
        """For a task cloned by ``resume``: the task it was cloned from."""
        return self._manifest.origin_pathspec

    @property
    def lineage(self) -> list[dict[str, Any]]:
        """The datasets the task loaded and saved through ``self.catalog``, in order.

        Each is a dict with ``dataset``, ``type``, ``location`` (no credentials), ``profile``,
        ``mode`` (``"load"``/``"save"``), ``content_hash``, ``rows`` and ``schema_hash`` (tables)
        and ``snapshot`` (the blob holding a copy of what was loaded, or ``None``).
        """
        return [asdict(record) for record in self._manifest.lineage]

    # -- outcome -------------------------------------------------------------------------

    @property
    def status(self) -> str:
        """``"succeeded"`` or ``"failed"``."""
        return self._manifest.status

    @property
    def successful(self) -> bool:
        """Whether the task succeeded."""
        return self._manifest.status == "succeeded"

    @property
    def finished(self) -> bool:
        """Always ``True``: a task becomes visible only once it has finished."""
        return True

    @property
    def current_attempt(self) -> int:
        """The attempt this object reads (0 for the first)."""
        return self._manifest.attempt

    @property
    def created_at(self) -> datetime | None:
        """When the task started."""
        return when(self._manifest.started_at)

    @property
    def finished_at(self) -> datetime | None:
        """When the task finished."""
        return when(self._manifest.finished_at)

    @property
    def duration(self) -> float:
        """Seconds the task took."""
        return max(0.0, self._manifest.finished_at - self._manifest.started_at)

    @property
    def exception(self) -> TaskException | None:
        """What the task raised, or ``None`` when it did not fail."""
        failure = self._manifest.failure
        if failure is None:
            return None
        return TaskException(failure.type, failure.message, failure.traceback, failure.kind)

    @property
    def stdout(self) -> str:
        """Everything the task printed to standard output."""
        return self._log("stdout")

    @property
    def stderr(self) -> str:
        """Everything the task wrote to standard error (a failure's traceback is there)."""
        return self._log("stderr")

    def _log(self, stream: str) -> str:
        return self._store.read_task_log(self._manifest, stream).decode("utf-8", "replace")

    @property
    def code(self) -> RunCode | None:
        """The code snapshot of the task's run."""
        return self.parent.parent.code

    # -- artifacts -----------------------------------------------------------------------

    @property
    def artifacts(self) -> Artifacts:
        """The task's artifacts as :class:`DataArtifact` objects (nothing loaded yet)."""
        if self._artifacts is None:
            self._artifacts = Artifacts(self, self._manifest.artifacts)
        return self._artifacts

    @property
    def data(self) -> ArtifactData:
        """The values of the artifacts: ``task.data.accuracy`` loads that one value."""
        return ArtifactData(self.artifacts)

    def __getitem__(self, name: str) -> DataArtifact:
        return self.artifacts[name]

    def __iter__(self) -> Iterator[DataArtifact]:
        return iter(self.artifacts)

    def __contains__(self, name: object) -> bool:
        return name in self.artifacts

    # -- views ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Status, times, foreach position, origin, artifacts (no values), log sizes; JSON-ready."""
        m = self._manifest
        return {
            "pathspec": self.pathspec,
            "step": m.step,
            "task_id": m.task_id,
            "attempt": m.attempt,
            "status": m.status,
            "index": self.index,
            "iteration": m.iteration,
            "parallel": self.parallel,
            "started_at": _iso(m.started_at),
            "finished_at": _iso(m.finished_at),
            "duration": round(self.duration, 6),
            "origin_pathspec": m.origin_pathspec,
            "parents": list(m.parents),
            "artifacts": {a.id: a.to_dict() for a in self.artifacts},
            "exception": m.failure.to_dict() if m.failure else None,
            "logs": dict(m.logs),
        }

    def _summary(self) -> str:
        gang = self.parallel
        if gang is not None:  # a gang node's index is its node index: say it once
            where = f", node {gang['node_index']} of {gang['num_nodes']}"
        else:
            where = f", index {self.index}" if self.index is not None else ""
        if self._manifest.iteration:
            where += f", iteration {self._manifest.iteration}"
        count = len(self._manifest.artifacts)
        return f"{self.status}, {fmt_duration(self.duration)}{where}, {count} artifacts"

    def _repr_html_(self) -> str:
        exception = self.exception
        fields = [
            ("status", self.status),
            ("attempt", self.current_attempt),
            ("started", fmt_time(self.created_at)),
            ("duration", fmt_duration(self.duration)),
            ("foreach index", self.index),
            ("iteration", self._manifest.iteration),
            ("cloned from", self.origin_pathspec),
            ("exception", f"{exception.type}: {exception.message}" if exception else None),
        ]
        rows = [(a.id, short_type(a.type), fmt_size(a.size)) for a in self.artifacts]
        table = html_table(("artifact", "type", "size"), rows)
        return html_card(f"Task {self.pathspec}", fields, ("artifacts", table))


def _iso(timestamp: float | None) -> str | None:
    moment = when(timestamp)
    return moment.isoformat() if moment is not None else None


def _task_not_found(
    context: ClientContext,
    store: FlowDatastore,
    run_id: str,
    step: str,
    task_id: str,
    attempt: int | None,
) -> RunNotFound:
    from flowkit.client.step import Step

    step_obj = Step._open(context, f"{store.flow_name}/{run_id}/{step}")  # raises if missing
    known = store.tasks(run_id, step)
    pathspec = f"{step_obj.pathspec}/{task_id}"
    if task_id in known:
        attempts = store.attempts(run_id, step, task_id)
        if attempts and attempt is not None:
            listed = ", ".join(map(str, attempts))
            return RunNotFound(
                f"the task {pathspec} has no attempt {attempt}",
                hint=f"use one of its attempts: {listed}",
            )
        return RunNotFound(
            f"the task {pathspec} has not finished: it is still running, or it was killed "
            "before it could commit",
            hint="wait for the run to finish, or resume it to run the task again",
        )
    shown = ", ".join(known[:20]) + (f" ... ({len(known)} in all)" if len(known) > 20 else "")
    return RunNotFound(
        f"the step {step_obj.pathspec} has no task {task_id!r}",
        hint=f"use one of its tasks: {shown}",
    )
