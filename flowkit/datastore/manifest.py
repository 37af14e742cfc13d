"""The records that describe runs and tasks, and their JSON form.

A :class:`TaskManifest` is the commit point of a task: it is written last, atomically, and names
every artifact by content hash, so a task either has a complete manifest or does not exist yet.
A :class:`RunRecord` is written in two parts: the start part claims the run id, the end part
(:class:`RunEnd`) is added when the run finishes.

JSON is written with sorted keys and no spaces, so equal records are equal bytes. Every record
carries its ``format_version`` (see :mod:`flowkit.datastore.format`): unknown keys are ignored
when reading, so records of a newer *minor* format still load; a newer *major* format is refused
with :class:`~flowkit.datastore.format.FormatTooNew`. Task manifests of format 0 (written before
the format was versioned) are converted on reading (:mod:`flowkit.datastore.legacy`).

Every record is validated when it is read, against the type annotations of its dataclass: a
field of the wrong type (a date that is a string, a size that is a list), a negative count or a
time outside what a date can hold raises :class:`~flowkit.errors.CorruptObject` saying which
field is wrong, instead of a ``TypeError`` far from the file later. The checks are derived from
the annotations, so a field added to a record is validated without more code
(:mod:`flowkit.datastore.recordjson`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from flowkit.datastore.failure import STOPPED_BY_USER, Failure, FailureKind
from flowkit.datastore.format import FORMAT_VERSION, check_readable, writer_version
from flowkit.datastore.legacy import upgrade_manifest_v0
from flowkit.datastore.recordjson import build as _build
from flowkit.datastore.recordjson import dump as _dump
from flowkit.datastore.recordjson import load as _load

TaskStatus = Literal["succeeded", "failed"]
RunStatus = Literal["running", "succeeded", "failed", "killed"]

__all__ = [
    "STOPPED_BY_USER",
    "ArtifactRef",
    "CatalogChoice",
    "Failure",
    "FailureKind",
    "ForeachFrame",
    "LineageRecord",
    "LogOrigin",
    "RunEnd",
    "RunRecord",
    "RunStatus",
    "TaskManifest",
    "TaskStatus",
]


@dataclass(frozen=True)
class ArtifactRef:
    """Where an artifact's value is stored.

    Attributes:
        sha: sha256 hex digest of the serialized bytes (the blob's name).
        type: Qualified type name of the value, e.g. ``"numpy.ndarray"``.
        size: Size of the serialized bytes.
    """

    sha: str
    type: str
    size: int

    def to_json(self) -> bytes:
        """Return the compact JSON encoding."""
        return _dump(asdict(self))

    @classmethod
    def from_json(cls, data: bytes | bytearray) -> ArtifactRef:
        """Parse the output of :meth:`to_json`."""
        return _build(cls, _load(data, "artifact reference"))


@dataclass(frozen=True, slots=True)  # a 100,000-wide foreach holds one per split
class ForeachFrame:
    """One level of foreach nesting a task runs inside: the one type the runtime, the stored
    manifest and the client all use.

    Attributes:
        step: The step that started the foreach.
        index: This task's position among the splits.
        num_splits: How many splits the foreach produced.
        var: The artifact the foreach fanned out over (``""`` in records of format 0 that did
            not keep it).
        element: Blob name of this split's own element, fixed by the parent.
        items: Blob name of the whole collection, for tasks recorded before the parent fixed
            each split's element (the child indexes the collection itself).
    """

    step: str
    index: int
    num_splits: int
    var: str = ""
    element: str | None = None
    items: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in manifests (and passed to a task started by a command)."""
        return {
            "element": self.element,
            "index": self.index,
            "items": self.items,
            "num_splits": self.num_splits,
            "step": self.step,
            "var": self.var,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> ForeachFrame:
        """Parse the output of :meth:`to_dict`, checking every field.

        Raises:
            CorruptObject: ``raw`` is not a foreach frame.
        """
        return _build(cls, raw)


@dataclass(frozen=True)
class LogOrigin:
    """The task attempt whose logs a cloned task shows (resume does not copy logs).

    Attributes:
        run_id: Run of the task that wrote the logs.
        step: Its step.
        task_id: Its task id.
        attempt: Its attempt.
    """

    run_id: str
    step: str
    task_id: str
    attempt: int


@dataclass(frozen=True)
class LineageRecord:
    """One dataset a task loaded or saved through the data catalog (``self.catalog``).

    Never holds a secret: ``location`` is the resolved location with any password removed.

    Attributes:
        dataset: The dataset's name in the catalog (``"orders"``, ``"emea_orders"``).
        type: Its type (``csv``, ``parquet``, ``sql_table`` ...).
        location: Where it was read or written, without credentials.
        profile: The catalog profile in force (``"default"`` when none was chosen).
        mode: ``"load"`` or ``"save"``.
        content_hash: SHA-256 of the data (the file's bytes, or a table's rows).
        rows: Number of rows, for tables.
        schema_hash: SHA-256 of the column names and types, for tables.
        snapshot: Blob name of the copy kept in the datastore, when snapshotted.
    """

    dataset: str
    type: str
    location: str
    profile: str
    mode: Literal["load", "save"]
    content_hash: str
    rows: int | None = None
    schema_hash: str | None = None
    snapshot: str | None = None


@dataclass
class TaskManifest:
    """Everything recorded about one attempt of one task.

    Core fields are typed; only ``plugin_data`` is free-form, and it belongs to plugins.

    Attributes:
        flow: Flow class name.
        run_id: Run id, e.g. ``"12"``.
        step: Step name.
        task_id: Task id inside the run.
        attempt: Attempt number, from 0.
        status: ``"succeeded"`` or ``"failed"``.
        started_at: Start time, seconds since the epoch.
        finished_at: End time, seconds since the epoch.
        artifacts: Artifact name to stored value.
        foreach_stack: Enclosing foreach levels, outermost first.
        iteration: Which pass of its step this task is, from 0: a step inside a loop (a
            switch going back) runs once per pass, each pass its own task. Optional: records
            written before loops existed read as 0.
        parents: Pathspecs (``Flow/run/step/task``) of the tasks this one ran after.
        next_steps: Steps the task transitioned to.
        foreach_count: Number of splits when the task started a foreach.
        foreach_var: The artifact fanned out over, when the task started a foreach.
        foreach_splits: When the task started a foreach, the blob name of its split index: the
            ordered element blob names, one per split (see ``flowkit.runtime.splits``). ``None``
            for records written before flowkit fixed each split's element in the parent.
        failure: Why the attempt failed; ``None`` when it did not. A failure ``@catch`` caught
            is kept, with status ``"succeeded"`` and ``caught`` set.
        caught: The artifact ``@catch`` stored the failure in, when it caught one.
        logs: Stream name to size in bytes; an absent stream was empty.
        origin_pathspec: The task this one was cloned from when a run was resumed.
        log_origin: For a cloned task, the task attempt that wrote its logs.
        decorators: The step's decorators, in their ``--with`` form (``"retry:times=3"``).
        resources: The ``@resources`` the step asked for, if any.
        plugin_data: Free-form data of plugins, one JSON object per plugin name.
        lineage: The datasets the task loaded and saved through the data catalog, in order.
            Optional: written only when non-empty, older records read as ``[]``.
        format_version: The storage format the record was written in (``"1.0"``).
        written_by: The flowkit version that wrote it (``""`` for format 0).
    """

    flow: str
    run_id: str
    step: str
    task_id: str
    attempt: int
    status: TaskStatus
    started_at: float
    finished_at: float
    artifacts: dict[str, ArtifactRef] = field(default_factory=dict)
    foreach_stack: list[ForeachFrame] = field(default_factory=list)
    iteration: int = 0
    parents: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    foreach_count: int | None = None
    foreach_var: str | None = None
    foreach_splits: str | None = None
    failure: Failure | None = None
    caught: str | None = None
    logs: dict[str, int] = field(default_factory=dict)
    origin_pathspec: str | None = None
    log_origin: LogOrigin | None = None
    decorators: list[str] = field(default_factory=list)
    resources: dict[str, Any] = field(default_factory=dict)
    plugin_data: dict[str, dict[str, Any]] = field(default_factory=dict)
    lineage: list[LineageRecord] = field(default_factory=list)
    format_version: str = FORMAT_VERSION
    written_by: str = field(default_factory=writer_version)

    @property
    def pathspec(self) -> str:
        """``Flow/run/step/task``, the name users give this task."""
        return f"{self.flow}/{self.run_id}/{self.step}/{self.task_id}"

    def to_json(self) -> bytes:
        """Return the compact, key-sorted JSON encoding (always in this flowkit's format)."""
        # Built by hand rather than with asdict(): asdict deep-copies every field, which is a
        # measurable share of the per-task cost when the runner commits thousands of tasks.
        raw = dict(self.__dict__)
        raw["artifacts"] = {
            name: {"sha": ref.sha, "size": ref.size, "type": ref.type}
            for name, ref in self.artifacts.items()
        }
        raw["foreach_stack"] = [f.to_dict() for f in self.foreach_stack]
        raw["failure"] = self.failure.to_dict() if self.failure is not None else None
        raw["log_origin"] = asdict(self.log_origin) if self.log_origin is not None else None
        # Optional: a task that used no catalog writes the same bytes as before lineage existed.
        if self.lineage:
            raw["lineage"] = [asdict(record) for record in self.lineage]
        else:
            del raw["lineage"]
        raw["format_version"] = FORMAT_VERSION
        raw["written_by"] = writer_version()
        return _dump(raw)

    @classmethod
    def from_json(cls, data: bytes | bytearray) -> TaskManifest:
        """Parse the output of :meth:`to_json`; a manifest of format 0 is read as well.

        Raises:
            CorruptObject: ``data`` is not a task manifest.
            FormatTooNew: It was written in a newer major format than this flowkit reads.
        """
        raw = _load(data, "task manifest")
        if check_readable(raw, "task manifest")[0] == 0:
            raw = upgrade_manifest_v0(raw)
        return _build(cls, raw)


@dataclass(frozen=True)
class CatalogChoice:
    """The data catalog a run used, so every task reads it wherever it runs (Batch, resume).

    Never holds a secret: a catalog names credentials, and a run whose catalog has a password
    in a URL is refused before it starts.

    Attributes:
        profile: The profile chosen (``--profile``, ``FLOWKIT_PROFILE``); ``None``: the
            catalog's defaults.
        path: The catalog file on the machine that started the run (for messages).
        sha: Blob name of the catalog file's bytes, as the run read them.
        base: The folder relative locations resolve against (the catalog file's); a task
            elsewhere can override it with the setting ``catalog_base``.
        profile_from: ``"run"``: chosen for this run (an option, a setting or the default);
            ``"origin"``: kept from the run this one resumed.
        catalog_from: The same, for the catalog file.
    """

    profile: str | None
    path: str
    sha: str
    base: str
    profile_from: Literal["run", "origin"] = "run"
    catalog_from: Literal["run", "origin"] = "run"


@dataclass(frozen=True)
class RunEnd:
    """The part of a run record written when the run finishes.

    Attributes:
        status: ``"succeeded"``, ``"failed"`` or ``"killed"``.
        finished_at: End time, seconds since the epoch.
        summary: Free-form totals (task counts, failed step ...).
    """

    status: RunStatus
    finished_at: float
    summary: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        """Return the compact, key-sorted JSON encoding."""
        return _dump(asdict(self))

    @classmethod
    def from_json(cls, data: bytes | bytearray) -> RunEnd:
        """Parse the output of :meth:`to_json` (or a complete :class:`RunRecord`'s).

        Raises:
            CorruptObject: ``data`` is not a run end record.
        """
        return _build(cls, _load(data, "run end record"))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunEnd:
        """Build from parsed JSON, every field checked.

        Raises:
            CorruptObject: ``raw`` is not a run end record.
        """
        return _build(cls, raw)


@dataclass
class RunRecord:
    """Everything recorded about one run.

    Attributes:
        flow: Flow class name.
        run_id: Run id; assigned by the datastore when the run is created.
        created_at: Start time, seconds since the epoch.
        user: Who started the run.
        tags: User tags.
        system_tags: Tags flowkit sets from how the run was started, which users cannot
            change (``project:<name>`` and ``project_branch:<branch>`` under ``@project``).
        parameters: Parameter name to stored value.
        parameter_values: Parameter name to a short printable form of its value.
        code_sha: Blob name of the code snapshot, if one was stored.
        flow_file: Path of the flow file the run was started from.
        origin_run_id: The run this one resumed, if any.
        resume_step: The step a resume was asked to re-run from (``resume STEP``), if any.
        status: ``"running"`` until the end part is written.
        finished_at: End time, ``None`` while running.
        summary: Free-form totals written at the end.
        environment_sha: Blob name of the environment the run started in (Python, platform,
            installed distributions; see ``flowkit.datastore.environment``), if recorded.
        catalog: The data catalog and profile the run's tasks use, when the flow has a
            catalog. Optional: written only when set, older records read as ``None``.
        format_version: The storage format that wrote the record, ``"MAJOR.MINOR"``;
            ``"0.0"`` for records from before formats were versioned.
        written_by: The flowkit version that wrote the record (``""`` before format 1).

    Since format 1 the end part (``end.json``) is the complete record, so a finished run is
    read from one object (see ``flowkit.datastore.runs``).
    """

    flow: str
    run_id: str
    created_at: float
    user: str
    tags: list[str] = field(default_factory=list)
    system_tags: list[str] = field(default_factory=list)
    parameters: dict[str, ArtifactRef] = field(default_factory=dict)
    parameter_values: dict[str, str] = field(default_factory=dict)
    code_sha: str | None = None
    flow_file: str = ""
    origin_run_id: str | None = None
    resume_step: str | None = None
    status: RunStatus = "running"
    finished_at: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    environment_sha: str | None = None
    catalog: CatalogChoice | None = None
    format_version: str = "0.0"
    written_by: str = ""

    @property
    def pathspec(self) -> str:
        """``Flow/run``, the name users give this run."""
        return f"{self.flow}/{self.run_id}"

    def with_end(self, end: RunEnd) -> RunRecord:
        """Return a copy completed with the end part."""
        return replace(self, status=end.status, finished_at=end.finished_at, summary=end.summary)

    def to_json(self) -> bytes:
        """Return the compact, key-sorted JSON encoding."""
        raw = asdict(self)
        if raw["catalog"] is None:  # a run without a catalog writes what it always wrote
            del raw["catalog"]
        return _dump(raw)

    @classmethod
    def from_json(cls, data: bytes | bytearray) -> RunRecord:
        """Parse the output of :meth:`to_json`.

        Raises:
            CorruptObject: ``data`` is not a run record.
            FormatTooNew: It was written in a newer major format.
        """
        raw = _load(data, "run record")
        check_readable(raw, "run record")
        return _build(cls, raw)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunRecord:
        """Build from parsed JSON, every field checked (the format is checked by the caller).

        Raises:
            CorruptObject: ``raw`` is not a run record.
        """
        return _build(cls, raw)
