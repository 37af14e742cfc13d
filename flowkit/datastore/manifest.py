"""The records that describe runs and tasks, and their JSON form.

A :class:`TaskManifest` is the commit point of a task: it is written last, atomically, and names
every artifact by content hash, so a task either has a complete manifest or does not exist yet.
A :class:`RunRecord` is written in two parts: the start part claims the run id, the end part
(:class:`RunEnd`) is added when the run finishes.

JSON is written with sorted keys and no spaces, so equal records are equal bytes. Unknown keys
are ignored when reading, so records written by a newer flowkit still load.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal, TypeVar

from flowkit.errors import CorruptObject

TaskStatus = Literal["succeeded", "failed"]
RunStatus = Literal["running", "succeeded", "failed", "killed"]

_Record = TypeVar("_Record")


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


@dataclass(frozen=True)
class ForeachFrame:
    """One level of foreach nesting a task runs inside.

    Attributes:
        step: The step that started the foreach.
        index: This task's position among the splits.
        num_splits: How many splits the foreach produced.
    """

    step: str
    index: int
    num_splits: int


@dataclass
class TaskManifest:
    """Everything recorded about one attempt of one task.

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
        parents: Pathspecs (``Flow/run/step/task``) of the tasks this one ran after.
        next_steps: Steps the task transitioned to.
        foreach_count: Number of splits when the task started a foreach.
        foreach_splits: When the task started a foreach, the blob name of its split index: the
            ordered element blob names, one per split (see ``flowkit.runtime.splits``). ``None``
            for records written before flowkit fixed each split's element in the parent.
        exception: ``type``, ``message`` and ``traceback`` of the error when the task failed.
        logs: Stream name to size in bytes; an absent stream was empty.
        origin_pathspec: The task this one was cloned from when a run was resumed.
        extra: Free-form data for plugins.
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
    parents: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    foreach_count: int | None = None
    foreach_splits: str | None = None
    exception: dict[str, str] | None = None
    logs: dict[str, int] = field(default_factory=dict)
    origin_pathspec: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pathspec(self) -> str:
        """``Flow/run/step/task``, the name users give this task."""
        return f"{self.flow}/{self.run_id}/{self.step}/{self.task_id}"

    def to_json(self) -> bytes:
        """Return the compact, key-sorted JSON encoding."""
        # Built by hand rather than with asdict(): asdict deep-copies every field, which is a
        # measurable share of the per-task cost when the runner commits thousands of tasks.
        raw = dict(self.__dict__)
        raw["artifacts"] = {
            name: {"sha": ref.sha, "size": ref.size, "type": ref.type}
            for name, ref in self.artifacts.items()
        }
        raw["foreach_stack"] = [
            {"index": f.index, "num_splits": f.num_splits, "step": f.step}
            for f in self.foreach_stack
        ]
        return _dump(raw)

    @classmethod
    def from_json(cls, data: bytes | bytearray) -> TaskManifest:
        """Parse the output of :meth:`to_json`.

        Raises:
            CorruptObject: ``data`` is not a task manifest.
        """
        raw = _load(data, "task manifest")
        try:
            raw["artifacts"] = {
                name: _build(ArtifactRef, ref) for name, ref in raw.get("artifacts", {}).items()
            }
            raw["foreach_stack"] = [_build(ForeachFrame, f) for f in raw.get("foreach_stack", [])]
        except (AttributeError, TypeError) as exc:
            raise CorruptObject(f"the task manifest is malformed ({exc})") from exc
        return _build(cls, raw)


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
        """Parse the output of :meth:`to_json`.

        Raises:
            CorruptObject: ``data`` is not a run end record.
        """
        return _build(cls, _load(data, "run end record"))


@dataclass
class RunRecord:
    """Everything recorded about one run.

    Attributes:
        flow: Flow class name.
        run_id: Run id; assigned by the datastore when the run is created.
        created_at: Start time, seconds since the epoch.
        user: Who started the run.
        tags: User tags.
        parameters: Parameter name to stored value.
        parameter_values: Parameter name to a short printable form of its value.
        code_sha: Blob name of the code snapshot, if one was stored.
        flow_file: Path of the flow file the run was started from.
        origin_run_id: The run this one resumed, if any.
        status: ``"running"`` until the end part is written.
        finished_at: End time, ``None`` while running.
        summary: Free-form totals written at the end.
    """

    flow: str
    run_id: str
    created_at: float
    user: str
    tags: list[str] = field(default_factory=list)
    parameters: dict[str, ArtifactRef] = field(default_factory=dict)
    parameter_values: dict[str, str] = field(default_factory=dict)
    code_sha: str | None = None
    flow_file: str = ""
    origin_run_id: str | None = None
    status: RunStatus = "running"
    finished_at: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def pathspec(self) -> str:
        """``Flow/run``, the name users give this run."""
        return f"{self.flow}/{self.run_id}"

    def with_end(self, end: RunEnd) -> RunRecord:
        """Return a copy completed with the end part."""
        return replace(self, status=end.status, finished_at=end.finished_at, summary=end.summary)

    def to_json(self) -> bytes:
        """Return the compact, key-sorted JSON encoding."""
        return _dump(asdict(self))

    @classmethod
    def from_json(cls, data: bytes | bytearray) -> RunRecord:
        """Parse the output of :meth:`to_json`.

        Raises:
            CorruptObject: ``data`` is not a run record.
        """
        raw = _load(data, "run record")
        try:
            raw["parameters"] = {
                name: _build(ArtifactRef, ref) for name, ref in raw.get("parameters", {}).items()
            }
        except AttributeError as exc:
            raise CorruptObject(f"the run record is malformed ({exc})") from exc
        return _build(cls, raw)


def _dump(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _load(data: bytes | bytearray, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise CorruptObject(f"the {what} is not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise CorruptObject(f"the {what} is not a JSON object")
    return value


def _build(cls: type[_Record], raw: Any) -> _Record:
    if not isinstance(raw, dict):
        raise CorruptObject(f"expected a JSON object for {cls.__name__}, got {raw!r}")
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    try:
        return cls(**{key: value for key, value in raw.items() if key in known})
    except TypeError as exc:  # a required field is missing
        raise CorruptObject(f"the stored {cls.__name__} is incomplete ({exc})") from exc
