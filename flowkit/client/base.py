"""What every client object shares: a pathspec, the context it reads through, equality."""

from __future__ import annotations

from typing import Any

from flowkit.client.context import ClientContext
from flowkit.datastore.flowstore import FlowDatastore


class ClientObject:
    """A named thing in the datastore: a flow, run, step, task or artifact.

    Attributes:
        pathspec: ``Flow/run/step/task/artifact``, as long as the kind of object needs.
    """

    _kind = "object"

    def __init__(self, pathspec: str, context: ClientContext, store: FlowDatastore) -> None:
        self.pathspec = pathspec
        self._context = context
        self._store = store

    @property
    def id(self) -> str:
        """The last part of the pathspec: flow name, run id, step name, task id or artifact."""
        return self.pathspec.rpartition("/")[2]

    @property
    def datastore_root(self) -> str:
        """The URL of the datastore the object was read from (e.g. ``file:///work/.flowkit``)."""
        return self._store.storage.root

    @property
    def path_components(self) -> list[str]:
        """The parts of the pathspec."""
        return self.pathspec.split("/")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._key() == self._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self._key()))

    def _key(self) -> tuple[Any, ...]:
        return (self.pathspec, self._store.storage.root)

    def _summary(self) -> str:
        return ""

    def __repr__(self) -> str:
        summary = self._summary()
        return f"<{type(self).__name__} {self.pathspec}{': ' + summary if summary else ''}>"
