"""``Run.catalog``: the data catalog and profile a run's tasks used, as recorded with the run."""

from __future__ import annotations

from typing import Any

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import CatalogChoice
from flowkit.errors import CorruptRecord, ObjectNotFound


class RunCatalog:
    """The catalog recorded with a run (see the run record's ``catalog`` field).

    Attributes:
        profile: The profile in force (``"default"`` when none was chosen).
        path: The catalog file on the machine that started the run.
        base: The folder relative locations resolved against.
        sha: Blob name of the catalog file's bytes.
        profile_from: ``"run"`` (chosen for the run) or ``"origin"`` (kept by a resume).
        catalog_from: The same, for the file.
    """

    def __init__(self, store: FlowDatastore, pathspec: str, choice: CatalogChoice) -> None:
        self._store = store
        self._pathspec = pathspec
        self.profile = choice.profile or "default"
        self.path = choice.path
        self.base = choice.base
        self.sha = choice.sha
        self.profile_from = choice.profile_from
        self.catalog_from = choice.catalog_from
        self._text: str | None = None

    @property
    def text(self) -> str:
        """The catalog file as the run read it (one blob, read on first access).

        Raises:
            CorruptRecord: The blob is missing; the message names it.
        """
        if self._text is None:
            try:
                data = bytes(self._store.content.get(self.sha))
            except (ObjectNotFound, KeyError) as exc:
                url = self._store.storage.url(self._store.content.key(self.sha))
                raise CorruptRecord(
                    f"the catalog {url} of the run {self._pathspec} cannot be read",
                    hint=f"flowkit verify {self._pathspec} lists the damaged objects of the run",
                    url=url,
                ) from exc
            self._text = data.decode("utf-8", errors="replace")
        return self._text

    def to_dict(self) -> dict[str, Any]:
        """The record, JSON-ready (without the text)."""
        return {
            "profile": self.profile,
            "path": self.path,
            "base": self.base,
            "sha": self.sha,
            "profile_from": self.profile_from,
            "catalog_from": self.catalog_from,
        }

    def __repr__(self) -> str:
        return f"RunCatalog(profile={self.profile!r}, path={self.path!r})"
