"""A run: its record (status, times, parameters, tags, code) and its steps."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowkit.client.artifacts import ArtifactData
from flowkit.client.base import ClientObject
from flowkit.client.code import RunCode
from flowkit.client.context import ClientContext, default_context
from flowkit.client.pathspec import split_pathspec
from flowkit.client.render import fmt_duration, fmt_time, when
from flowkit.client.runcatalog import RunCatalog
from flowkit.client.runview import describe_produced as describe_produced  # re-exported
from flowkit.client.runview import parameter_values as parameter_values  # re-exported
from flowkit.client.runview import run_card_html
from flowkit.client.step import Step
from flowkit.client.summary import StepSummary, summarize_steps, task_row
from flowkit.client.task import Task
from flowkit.datastore.environment import RunEnvironment
from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import RunRecord
from flowkit.errors import (
    CorruptObject,
    CorruptRecord,
    NamespaceMismatch,
    ObjectNotFound,
    RunNotFound,
    TagError,
    UnreadableRecordWarning,
    did_you_mean,
)

if TYPE_CHECKING:
    import pandas as pd

    from flowkit.client.diff import RunDiff
    from flowkit.client.flow import Flow

#: Tags flowkit derives from the run record; users cannot add or remove them.
SYSTEM_TAG_PREFIXES = ("user:", "project:", "project_branch:")


class Run(ClientObject):
    """One run of a flow, e.g. ``Run("TrainFlow/12")``.

    Iterating gives its steps, the most recent first (as Metaflow's client does);
    ``run["train"]`` gives one step.

    Args:
        pathspec: ``Flow/run``.

    Raises:
        PathspecError: The pathspec does not name a run.
        FlowNotFound: The flow has no run at all (the message lists the flows that do).
        RunNotFound: The flow has no such run (the message lists the latest ones).
        NamespaceMismatch: The run is outside the namespace that is set.
    """

    _kind = "run"

    def __init__(self, pathspec: str) -> None:
        self._open_in(default_context(), pathspec)

    @classmethod
    def _open(cls, context: ClientContext, pathspec: str) -> Run:
        run = cls.__new__(cls)
        run._open_in(context, pathspec)
        return run

    def _open_in(self, context: ClientContext, pathspec: str) -> None:
        flow, run_id = split_pathspec(pathspec, "run")
        store = context.flow_store(flow)
        try:
            record = store.run_record(run_id)
        except RunNotFound:
            raise _run_not_found(context, store, run_id) from None
        self._setup(context, store, record, tags_changed=True)
        namespace = context.namespace
        if not self._visible(namespace):
            raise NamespaceMismatch(
                f"the run {self.pathspec} is not in the namespace {namespace!r}; its tags are "
                f"{', '.join(sorted(self.tags)) or 'none'}",
                hint="call flowkit.namespace(None) to see every run, or set a namespace this "
                "run is tagged with",
            )

    @classmethod
    def _build(
        cls,
        context: ClientContext,
        store: FlowDatastore,
        record: RunRecord,
        tags_changed: bool = True,
    ) -> Run:
        run = cls.__new__(cls)
        run._setup(context, store, record, tags_changed)
        return run

    def _setup(
        self, context: ClientContext, store: FlowDatastore, record: RunRecord, tags_changed: bool
    ) -> None:
        ClientObject.__init__(self, record.pathspec, context, store)
        self._record = record
        self._tags_changed = tags_changed
        self._user_tags: frozenset[str] | None = None
        self._parameters: dict[str, Any] | None = None
        self._environment: RunEnvironment | None = None

    def _visible(self, namespace: str | None) -> bool:
        return namespace is None or namespace in self.tags

    @property
    def _current(self) -> RunRecord:
        # A running run's end record may have been written since this object was made.
        if self._record.status == "running":
            self._record = self._store.run_record(self._record.run_id)
        return self._record

    def _last_sign_of_life(self) -> float | None:
        """For a run without an end record: when its lease runs out, or ``None`` while valid.

        Returns:
            ``None`` while the run counts as running; otherwise the moment it was last known
            alive (its last lease renewal, or its start when it has no lease).
        """
        record = self._current
        if record.status != "running":
            return None
        lease = self._store.read_lease(record.run_id)
        if lease is not None:
            return lease.renewed_at if time.time() > lease.expires_at else None
        # No lease: recorded by a flowkit without heartbeats, or its runner died at once.
        expiry = self._context.heartbeat_expiry()
        return record.created_at if time.time() > record.created_at + expiry else None

    # -- record --------------------------------------------------------------------------

    @property
    def parent(self) -> Flow:
        """The flow."""
        from flowkit.client.flow import Flow

        return Flow._build(self._context, self._store)

    @property
    def status(self) -> str:
        """``"running"``, ``"succeeded"``, ``"failed"``, ``"killed"`` or ``"lost"``.

        ``"lost"``: the run has no end record and its runner stopped renewing its lease
        (killed with SIGKILL, out of memory, the machine went down). It is a reader's verdict:
        a runner that was only suspended (a laptop asleep) renews the lease when it wakes up and
        the run reads as running again. A lost run can be resumed like any other.
        """
        status = self._current.status
        if status == "running" and self._last_sign_of_life() is not None:
            return "lost"
        return status

    @property
    def finished(self) -> bool:
        """Whether the run has ended (successfully or not), or is lost."""
        return self.status != "running"

    @property
    def successful(self) -> bool:
        """Whether the run ended and every task succeeded."""
        return self._current.status == "succeeded"

    @property
    def created_at(self) -> datetime:
        """When the run started."""
        moment = when(self._record.created_at)
        assert moment is not None
        return moment

    @property
    def finished_at(self) -> datetime | None:
        """When the run ended (for a lost run, when it was last known alive); ``None`` while
        it runs."""
        return when(self._end_time())

    @property
    def duration(self) -> float | None:
        """Seconds from start to end; ``None`` while it runs."""
        end = self._end_time()
        return None if end is None else max(0.0, end - self._record.created_at)

    def _end_time(self) -> float | None:
        end = self._current.finished_at
        return end if end is not None else self._last_sign_of_life()

    @property
    def user(self) -> str:
        """Who started the run."""
        return self._record.user

    @property
    def origin_run_id(self) -> str | None:
        """For a resumed run, the id of the run it resumed."""
        return self._record.origin_run_id

    @property
    def origin_pathspec(self) -> str | None:
        """For a resumed run, the pathspec of the run it resumed."""
        origin = self._record.origin_run_id
        return f"{self._store.flow_name}/{origin}" if origin else None

    @property
    def parameters(self) -> dict[str, Any]:
        """Parameter name -> value the run was started with (loaded on first access)."""
        if self._parameters is None:
            refs = self._record.parameters
            load = self._store.load_artifact
            run_id = self._record.run_id
            self._parameters = {n: load(refs[n], name=n, run_id=run_id) for n in sorted(refs)}
        return dict(self._parameters)

    @property
    def code(self) -> RunCode | None:
        """The run's code snapshot, or ``None`` when it was not stored."""
        sha = self._record.code_sha
        return RunCode(self._store, self.pathspec, sha, self._record.flow_file) if sha else None

    @property
    def catalog(self) -> RunCatalog | None:
        """The data catalog the run's tasks used: ``.profile``, ``.path``, ``.text`` (the file
        as the run read it), ``.profile_from``/``.catalog_from`` (``"origin"`` when a resume
        kept the resumed run's). ``None`` when the flow had no catalog, or for runs recorded
        before flowkit recorded catalogs."""
        choice = self._record.catalog
        return RunCatalog(self._store, self.pathspec, choice) if choice is not None else None

    @property
    def environment(self) -> RunEnvironment | None:
        """Where the run started: ``.python``, ``.platform``, ``.packages`` (name -> version).

        ``None`` for runs recorded before flowkit recorded environments. Read on first access
        (one blob, shared by every run started from the same environment).

        Raises:
            CorruptRecord: The environment record is missing or damaged; the message names it.
        """
        sha = self._record.environment_sha
        if not sha:
            return None
        if self._environment is None:
            try:
                self._environment = self._store.read_environment(sha)
            except (ObjectNotFound, CorruptObject) as exc:
                url = self._store.storage.url(self._store.content.key(sha))
                raise CorruptRecord(
                    f"the environment record {url} of the run {self.pathspec} cannot be read: "
                    f"{exc.message}",
                    hint=f"flowkit verify {self.pathspec} lists the damaged objects of the run",
                    url=url,
                ) from exc
        return self._environment

    # -- tags ----------------------------------------------------------------------------

    @property
    def user_tags(self) -> frozenset[str]:
        """Tags given with ``--tag`` or added later, minus those removed."""
        if self._user_tags is None:
            tags = self._store.run_tags(self._record, changed=self._tags_changed)
            self._user_tags = frozenset(tags)
        return self._user_tags

    @property
    def system_tags(self) -> frozenset[str]:
        """Tags flowkit derives from the record: ``user:<who started the run>``, and under
        ``@project`` ``project:<name>`` and ``project_branch:<branch>``."""
        user = {f"user:{self._record.user}"} if self._record.user else set()
        return frozenset(user | set(self._record.system_tags))

    @property
    def tags(self) -> frozenset[str]:
        """User tags and system tags together."""
        return self.user_tags | self.system_tags

    def add_tag(self, tag: str) -> None:
        """Add a user tag (stored at once; visible to every reader)."""
        self.replace_tags((), [tag])

    def add_tags(self, tags: Iterable[str]) -> None:
        """Add several user tags in one change."""
        self.replace_tags((), tags)

    def remove_tag(self, tag: str) -> None:
        """Remove a user tag; removing a tag the run does not have does nothing."""
        self.replace_tags([tag], ())

    def remove_tags(self, tags: Iterable[str]) -> None:
        """Remove several user tags in one change."""
        self.replace_tags(tags, ())

    def replace_tag(self, old: str, new: str) -> None:
        """Remove ``old`` and add ``new`` in one change."""
        self.replace_tags([old], [new])

    def replace_tags(self, old: Iterable[str], new: Iterable[str]) -> None:
        """Remove the ``old`` tags and add the ``new`` ones, as one change.

        Raises:
            TagError: A tag is invalid or is a system tag (``user:...``, ``project:...``,
                ``project_branch:...``).
        """
        old, new = _as_list(old), _as_list(new)
        for tag in [*old, *new]:
            if isinstance(tag, str) and tag.startswith(SYSTEM_TAG_PREFIXES):
                raise TagError(
                    f"{tag!r} is a system tag: flowkit sets it from the run record, and it "
                    "cannot be added or removed",
                    hint="use a tag without the 'user:', 'project:' or 'project_branch:' prefix",
                )
        self._store.change_tags(self._record.run_id, add=new, remove=old, user=self._context.user())
        self._tags_changed, self._user_tags = True, None

    # -- steps and tasks -----------------------------------------------------------------

    def _step_names(self) -> list[str]:
        """Steps that have tasks, in the order their first task started."""
        run_id = self._record.run_id

        def first_start(step: str) -> float:
            for task_id in self._store.tasks(run_id, step):
                if self._store.attempts(run_id, step, task_id):
                    try:
                        return self._store.read_manifest(run_id, step, task_id).started_at
                    except CorruptRecord:
                        continue  # step_summaries() says which
            return float("inf")

        names = self._store.steps(run_id)
        return sorted(names, key=lambda name: (first_start(name), name))

    def steps(self) -> Iterator[Step]:
        """The run's steps, the most recent first."""
        for name in reversed(self._step_names()):
            yield Step._build(self._context, self._store, self._record.run_id, name, self)

    def __iter__(self) -> Iterator[Step]:
        return self.steps()

    def __getitem__(self, step: str) -> Step:
        if not self._store.tasks(self._record.run_id, step):
            raise self._step_not_found(step)
        return Step._build(self._context, self._store, self._record.run_id, step, self)

    def __contains__(self, step: object) -> bool:
        if not isinstance(step, str) or not step.isidentifier():
            return False  # step names are identifiers
        return bool(self._store.tasks(self._record.run_id, step))

    def _step_not_found(self, step: str) -> RunNotFound:
        names = self._store.steps(self._record.run_id)
        return RunNotFound(
            f"the run {self.pathspec} has no step {step!r}." + did_you_mean(step, names),
            hint=f"use one of the steps that have run: {', '.join(names) or 'none yet'}",
        )

    @property
    def end_task(self) -> Task | None:
        """The task of the ``end`` step, or ``None`` when the run did not get there."""
        if "end" not in self:
            return None
        return self["end"].task

    @property
    def data(self) -> ArtifactData | None:
        """The artifacts of the ``end`` step (``run.data.model``); ``None`` without an end."""
        end = self.end_task
        return end.data if end is not None else None

    def step_summaries(self) -> list[StepSummary]:
        """Every step in execution order, with its tasks and what it produced (no loading).

        A task whose manifest is damaged is left out with an
        :class:`~flowkit.errors.UnreadableRecordWarning` naming the file.
        """
        manifests, damaged = self._store.read_manifests(self._record.run_id)
        for error in damaged:
            warnings.warn(error.message, UnreadableRecordWarning, stacklevel=2)
        running = self.status == "running"
        return summarize_steps(manifests, self._record.parameters, running=running)

    def diff(self, other: Run | str) -> RunDiff:
        """How ``other`` differs from this run: parameters, code, step outputs, datasets.

        ``str()`` of the result is what ``flowkit diff`` prints; a notebook shows it as HTML.
        See :mod:`flowkit.client.diff`.

        Args:
            other: A run, or its pathspec (``"TrainFlow/15"``, or ``"15"`` for this flow's).
        """
        from flowkit.client.diff import diff_runs

        if isinstance(other, str):
            other = self._context.run(other if "/" in other else f"{self.parent.id}/{other}")
        return diff_runs(self, other)

    @property
    def lineage(self) -> list[dict[str, Any]]:
        """Every dataset the run's tasks loaded and saved, in the order the tasks started.

        The dicts of :attr:`Task.lineage`, each with the ``task`` (its pathspec) added.
        """
        manifests, _ = self._store.read_manifests(self._record.run_id)
        manifests.sort(key=lambda m: (m.started_at, m.step, m.task_id))
        return [{"task": m.pathspec, **asdict(record)} for m in manifests for record in m.lineage]

    # -- views ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The run's record, JSON-ready: status, times, user, tags, parameters, origin, and the
        data catalog (``None`` without one)."""
        record = self._current
        return {
            "pathspec": self.pathspec,
            "flow": record.flow,
            "run_id": record.run_id,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration": None if self.duration is None else round(self.duration, 6),
            "user": record.user,
            "tags": sorted(self.tags),
            "user_tags": sorted(self.user_tags),
            "parameters": parameter_values(record),
            "origin_run_id": record.origin_run_id,
            "code_sha": record.code_sha,
            "environment_sha": record.environment_sha,
            "catalog": self.catalog.to_dict() if self.catalog is not None else None,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per finished task: step, id, foreach index, status, attempt, times."""
        from flowkit.client.frames import tasks_frame

        summaries = self.step_summaries()
        return tasks_frame([task_row(m) for s in summaries for m in s.tasks])

    def _summary(self) -> str:
        parts = [self.status, f"started {fmt_time(self.created_at)}"]
        if self.duration is not None:
            parts.append(fmt_duration(self.duration))
        if self.tags:
            parts.append(f"tags: {', '.join(sorted(self.tags))}")
        return ", ".join(parts)

    def _repr_html_(self) -> str:
        return run_card_html(self, self._current)


def _as_list(tags: Iterable[str]) -> list[str]:
    return [tags] if isinstance(tags, str) else list(tags)


def _run_not_found(context: ClientContext, store: FlowDatastore, run_id: str) -> RunNotFound:
    if not store.has_runs():
        raise context.flow_not_found(store.storage, store.flow_name)
    recent = ", ".join(reversed(store.run_ids()[-5:]))
    return RunNotFound(
        f"the flow {store.flow_name} has no run {run_id!r}",
        hint=f"use one of its latest runs: {recent}",
    )
