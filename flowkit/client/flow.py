"""A flow: its runs, newest first, filtered by the namespace and by tags.

``latest_run`` costs a few existence checks and one record read whatever the number of runs: the
datastore claims run ids in increasing order with exclusive creates and keeps a ``latest`` hint
that readers only trust as a starting point, probing upward past it (see ``runs.py``). So a
run claimed a moment ago by another runner is found even before the hint is raised.

Listing runs reads one object per run (a finished run's end record is its complete record; see
``flowkit.datastore.runs``).

A run whose record is damaged does not stop a listing: :meth:`Flow.runs` leaves it out with an
:class:`~flowkit.errors.UnreadableRecordWarning` naming the file, :meth:`Flow.listing` gives it
in its place as an :class:`UnreadableRun`, and ``latest_run`` is the newest readable run.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowkit.client.base import ClientObject
from flowkit.client.context import ClientContext, default_context
from flowkit.client.pathspec import split_pathspec
from flowkit.client.render import fmt_duration, fmt_time, html_card, html_table
from flowkit.client.run import Run, parameter_values
from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import RunRecord
from flowkit.errors import CorruptRecord, NamespaceMismatch, RunNotFound, UnreadableRecordWarning

if TYPE_CHECKING:
    import pandas as pd

_HTML_RUNS = 10


@dataclass(frozen=True)
class UnreadableRun:
    """A run whose record is damaged, in the place a listing would show it.

    Attributes:
        pathspec: ``Flow/run``.
        id: The run id.
        error: What is wrong; its message names the file, its ``url`` is the file's URL.
    """

    pathspec: str
    id: str
    error: CorruptRecord

    status = "unreadable"

    @property
    def url(self) -> str:
        """Where the damaged record is stored."""
        return self.error.url

    @property
    def reason(self) -> str:
        """What is wrong with it, naming the file."""
        return self.error.message

    def to_dict(self) -> dict[str, Any]:
        """The entry, JSON-ready."""
        return {
            "pathspec": self.pathspec,
            "run_id": self.id,
            "status": self.status,
            "path": self.url,
            "reason": self.reason,
        }


class Flow(ClientObject):
    """Every recorded run of one flow, e.g. ``Flow("TrainFlow")``.

    Iterating gives the runs in the namespace, newest first; ``flow["12"]`` gives one run.

    Args:
        name: The flow's class name.

    Raises:
        FlowNotFound: No run of the flow is recorded (the message lists the flows that have
            runs and suggests the closest name).
        DatastoreError: Nothing is stored at the datastore root (it says how the root was
            chosen).
    """

    _kind = "flow"

    def __init__(self, name: str) -> None:
        self._open_in(default_context(), name)

    @classmethod
    def _open(cls, context: ClientContext, name: str) -> Flow:
        flow = cls.__new__(cls)
        flow._open_in(context, name)
        return flow

    def _open_in(self, context: ClientContext, name: str) -> None:
        [name] = split_pathspec(name, "flow")
        store = context.flow_store(name)
        if not store.has_runs():
            raise context.flow_not_found(store.storage, name)
        ClientObject.__init__(self, name, context, store)

    @classmethod
    def _build(cls, context: ClientContext, store: FlowDatastore) -> Flow:
        flow = cls.__new__(cls)
        ClientObject.__init__(flow, store.flow_name, context, store)
        return flow

    def runs(self, *tags: str) -> Iterator[Run]:
        """The runs in the namespace that carry every one of ``tags``, newest first.

        Lazy: each run's record is read when the iteration reaches it, so taking the first few
        runs costs the same with ten runs or ten thousand. A run whose record is damaged is left
        out with an :class:`~flowkit.errors.UnreadableRecordWarning` naming the file.
        """
        for entry in self.listing(*tags):
            if isinstance(entry, UnreadableRun):
                warnings.warn(entry.reason, UnreadableRecordWarning, stacklevel=2)
                continue
            yield entry

    def listing(self, *tags: str) -> Iterator[Run | UnreadableRun]:
        """Like :meth:`runs`, with each run whose record is damaged as an :class:`UnreadableRun`.

        Unreadable runs are given whatever ``tags`` and namespace ask for: their tags cannot be
        read, and a listing should show that they are there.
        """
        wanted = set(tags)
        if self._context.namespace is not None:
            wanted.add(self._context.namespace)
        # One listing tells which runs ever had their tags changed; the others need no read
        # to know their tags.
        changed = self._store.tags.runs_with_events()
        named = self._named_newest_first()
        for run_id in self._run_ids_newest_first():
            try:
                record = self._store.run_record(run_id)
            except RunNotFound:
                continue  # a gap (a deleted run), or an id being claimed right now
            except CorruptRecord as exc:
                yield UnreadableRun(f"{self.id}/{run_id}", run_id, exc)
                continue
            # runs an orchestrator named (airflow-...) take their place by start time
            while named and named[0].created_at > record.created_at:
                yield from self._matching(named.pop(0), changed, wanted)
            yield from self._matching(record, changed, wanted)
        for record in named:
            yield from self._matching(record, changed, wanted)

    def _matching(self, record: RunRecord, changed: set[str], wanted: set[str]) -> Iterator[Run]:
        run = Run._build(self._context, self._store, record, record.run_id in changed)
        if not wanted or wanted <= run.tags:
            yield run

    def _named_newest_first(self) -> list[RunRecord]:
        """The records of the runs started under a chosen id, newest first (damaged ones are
        left out here: reading them by id reports the damage)."""
        records = []
        for run_id in self._store.named_run_ids():
            try:
                records.append(self._store.run_record(run_id))
            except (RunNotFound, CorruptRecord):
                continue
        return sorted(records, key=lambda r: r.created_at, reverse=True)

    def _run_ids_newest_first(self) -> Iterator[str]:
        # Run ids are claimed in increasing order from 1, so counting down from the latest one
        # visits every run without listing them all (a listing of 10,000 names on an object
        # store is ten requests before the first run could be shown).
        latest = self._store.latest_run_id()
        if latest is None:
            return
        for number in range(int(latest), 0, -1):
            yield str(number)

    def __iter__(self) -> Iterator[Run]:
        return self.runs()

    def __getitem__(self, run_id: str) -> Run:
        return Run._open(self._context, f"{self.id}/{run_id}")

    def __contains__(self, run_id: object) -> bool:
        if not isinstance(run_id, str) or not run_id or "/" in run_id or run_id in (".", ".."):
            return False
        try:
            self[run_id]
        except (RunNotFound, NamespaceMismatch):
            return False
        return True

    @property
    def latest_run(self) -> Run | None:
        """The most recent run in the namespace, whatever its status; ``None`` if none."""
        if self._context.namespace is not None or self._store.named_run_ids():
            return next(self.runs(), None)
        run_id = self._store.latest_run_id()
        if run_id is None:
            return None
        try:
            return Run._build(self._context, self._store, self._store.run_record(run_id))
        except (CorruptRecord, RunNotFound):
            return next(self.runs(), None)  # warns about the damaged record

    @property
    def latest_successful_run(self) -> Run | None:
        """The most recent run in the namespace that succeeded; ``None`` if none."""
        return next((run for run in self.runs() if run.successful), None)

    def to_frame(self, *tags: str, limit: int | None = None) -> pd.DataFrame:
        """One row per run (newest first): status, times, duration, user, tags, parameters.

        Args:
            *tags: Only runs carrying all these tags.
            limit: At most this many runs.
        """
        from flowkit.client.frames import runs_frame

        rows: list[dict[str, Any]] = []
        for run in self.runs(*tags):
            if limit is not None and len(rows) >= limit:
                break
            rows.append(run_row(run))
        return runs_frame(rows)

    def _summary(self) -> str:
        latest = self._store.latest_run_id()
        return f"latest run {latest}" if latest else "no runs"

    def _repr_html_(self) -> str:
        rows: list[tuple[Any, ...]] = []
        for run in self.runs():
            if len(rows) >= _HTML_RUNS:
                break
            rows.append(
                (
                    run.id,
                    run.status,
                    fmt_time(run.created_at),
                    fmt_duration(run.duration),
                    ", ".join(sorted(run.tags)),
                )
            )
        table = html_table(("run", "status", "started", "duration", "tags"), rows)
        namespace = self._context.namespace
        fields = [("namespace", namespace if namespace is not None else "all runs")]
        return html_card(f"Flow {self.id}", fields, ("runs, newest first", table))


def run_row(run: Run) -> dict[str, Any]:
    """The table row of one run, for DataFrames.

    Parameter values come from the record's printable form (no blob is read); numbers, strings,
    lists and dicts are turned back into values, anything else stays text.
    """
    record = run._current
    row: dict[str, Any] = {
        "run_id": record.run_id,
        "status": run.status,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
        "duration_s": run.duration,
        "user": record.user,
        "tags": sorted(run.tags),
        "origin_run_id": record.origin_run_id,
    }
    for name, printable in parameter_values(record).items():
        row[name if name not in row else f"param:{name}"] = printable
    return row
