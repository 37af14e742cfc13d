"""Artifacts of a task: one :class:`DataArtifact` per name, loaded only when its value is asked.

``task.data.accuracy`` loads the value of one artifact (one blob read, hash-checked);
``task.artifacts.accuracy`` / ``task["accuracy"]`` give the :class:`DataArtifact` itself, whose
type and size come from the task's manifest without touching the blob.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowkit.client.base import ClientObject
from flowkit.client.context import ClientContext, default_context
from flowkit.client.pathspec import split_pathspec
from flowkit.client.render import fmt_size, html_table, short_type
from flowkit.datastore.manifest import ArtifactRef
from flowkit.errors import ArtifactNotFound, MissingArtifactAttribute, did_you_mean

if TYPE_CHECKING:
    from flowkit.client.task import Task

_UNLOADED = object()


class DataArtifact(ClientObject):
    """One named value a task stored, e.g. ``DataArtifact("TrainFlow/12/train/5/accuracy")``.

    Args:
        pathspec: ``Flow/run/step/task/name``.

    Raises:
        PathspecError: The pathspec does not name an artifact.
        FlowNotFound, RunNotFound: The flow, run, step or task does not exist.
        ArtifactNotFound: The task has no artifact of that name (the message lists them).
        NamespaceMismatch: The run is outside the namespace that is set.
    """

    _kind = "artifact"

    def __init__(self, pathspec: str) -> None:
        self._open_in(default_context(), pathspec)

    @classmethod
    def _open(cls, context: ClientContext, pathspec: str) -> DataArtifact:
        artifact = cls.__new__(cls)
        artifact._open_in(context, pathspec)
        return artifact

    def _open_in(self, context: ClientContext, pathspec: str) -> None:
        from flowkit.client.task import Task

        parts = split_pathspec(pathspec, "artifact")
        task = Task._open(context, "/".join(parts[:4]))
        ref = task.artifacts[parts[4]]._ref
        ClientObject.__init__(self, f"{task.pathspec}/{parts[4]}", task._context, task._store)
        self._task, self._ref, self._value = task, ref, _UNLOADED

    @classmethod
    def _build(cls, task: Task, name: str, ref: ArtifactRef) -> DataArtifact:
        artifact = cls.__new__(cls)
        ClientObject.__init__(artifact, f"{task.pathspec}/{name}", task._context, task._store)
        artifact._task = task
        artifact._ref = ref
        artifact._value = _UNLOADED
        return artifact

    _task: Task
    _ref: ArtifactRef
    _value: Any

    @property
    def data(self) -> Any:
        """The value, loaded (and hash-checked) on first access, then kept.

        Raises:
            BrokenArtifact: The blob is missing, or its bytes do not match their hash (it is
                then quarantined); the message names the task that produced the value.
        """
        if self._value is _UNLOADED:
            manifest = self._task._manifest
            self._value = self._store.load_artifact(self._ref, name=self.id, referrers=[manifest])
        return self._value

    @property
    def loaded(self) -> bool:
        """Whether the value has been read from the datastore yet."""
        return self._value is not _UNLOADED

    @property
    def sha(self) -> str:
        """sha256 of the serialized value (the blob's name)."""
        return self._ref.sha

    @property
    def type(self) -> str:
        """Qualified type name of the value, e.g. ``"numpy.ndarray"``."""
        return self._ref.type

    @property
    def size(self) -> int:
        """Size in bytes of the serialized value."""
        return self._ref.size

    @property
    def parent(self) -> Task:
        """The task that stored the artifact."""
        return self._task

    @property
    def created_at(self) -> datetime | None:
        """When the task that stored it finished (the artifact's commit time)."""
        return self._task.finished_at

    finished_at = created_at

    def to_dict(self) -> dict[str, Any]:
        """Name, type, size and sha, JSON-ready (the value is not loaded)."""
        return {"name": self.id, "type": self.type, "size": self.size, "sha": self.sha}

    def _summary(self) -> str:
        return f"{short_type(self.type)}, {fmt_size(self.size)}"


class Artifacts:
    """The :class:`DataArtifact` objects of a task, by attribute or key (``task.artifacts``)."""

    def __init__(self, task: Task, refs: dict[str, ArtifactRef]) -> None:
        self._task = task
        self._items = {name: DataArtifact._build(task, name, refs[name]) for name in sorted(refs)}

    def __getattr__(self, name: str) -> DataArtifact:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._lookup(name, MissingArtifactAttribute)

    def __getitem__(self, name: str) -> DataArtifact:
        return self._lookup(name, ArtifactNotFound)

    def _lookup(self, name: str, error: type[ArtifactNotFound]) -> DataArtifact:
        try:
            return self._items[name]
        except KeyError:
            raise _missing(self._task, name, list(self._items), error) from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[DataArtifact]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._items))

    def names(self) -> list[str]:
        """The artifact names, sorted."""
        return list(self._items)

    def __repr__(self) -> str:
        listing = ", ".join(f"{a.id} ({a._summary()})" for a in self)
        return f"<artifacts of {self._task.pathspec}: {listing or 'none'}>"

    def _repr_html_(self) -> str:
        rows = [(a.id, short_type(a.type), fmt_size(a.size)) for a in self]
        return html_table(("artifact", "type", "size"), rows)


class ArtifactData:
    """The values of a task's artifacts as attributes: ``task.data.accuracy``.

    Only the artifact asked for is read from the datastore, and only once.
    """

    def __init__(self, artifacts: Artifacts) -> None:
        self._artifacts = artifacts

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)  # IPython and pickle probe private names
        return self._artifacts._lookup(name, MissingArtifactAttribute).data

    def __getitem__(self, name: str) -> Any:
        return self._artifacts[name].data

    def __contains__(self, name: object) -> bool:
        return name in self._artifacts

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._artifacts.names()))

    def __repr__(self) -> str:
        return repr(self._artifacts).replace("<artifacts of", "<data of", 1)

    def _repr_html_(self) -> str:
        return self._artifacts._repr_html_()


def _missing(
    task: Task, name: str, available: list[str], error: type[ArtifactNotFound]
) -> ArtifactNotFound:
    listing = ", ".join(available) if available else "none"
    return error(
        f"the task {task.pathspec} has no artifact {name!r}." + did_you_mean(name, available),
        hint=f"use one of its artifacts: {listing}",
    )
