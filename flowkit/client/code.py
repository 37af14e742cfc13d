"""The code a run was started from: list the snapshot's files, read one, extract them all."""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from flowkit.datastore.codesnap import (
    CodeSnapshotError,
    extract_snapshot,
    list_snapshot,
    snapshot_sizes,
)
from flowkit.datastore.flowstore import FlowDatastore
from flowkit.errors import ObjectNotFound, did_you_mean


class RunCode:
    """A run's code snapshot (``run.code``); the archive is read once, on first use.

    Attributes:
        sha: The archive's blob name in the flow's content store.
        script_name: File name of the flow file, e.g. ``"train.py"``.
    """

    def __init__(self, store: FlowDatastore, pathspec: str, sha: str, flow_file: str) -> None:
        self._store = store
        self._pathspec = pathspec
        self.sha = sha
        self.script_name = PurePosixPath(flow_file.replace("\\", "/")).name
        self._archive: bytes | None = None

    def __repr__(self) -> str:
        return f"<code of {self._pathspec}: {self.script_name}, snapshot {self.sha[:12]}>"

    @property
    def archive(self) -> bytes:
        """The ``.tar.gz`` bytes of the snapshot (hash-checked).

        Raises:
            CorruptObject: The stored archive is damaged.
        """
        if self._archive is None:
            self._archive = bytes(self._store.content.get(self.sha))
        return self._archive

    @property
    def path(self) -> str:
        """Where the archive is stored (a URL under the datastore root)."""
        return self._store.storage.url(self._store.content.key(self.sha))

    @property
    def files(self) -> list[str]:
        """The archived paths, relative to the flow file's folder."""
        return list_snapshot(self.archive)

    @property
    def sizes(self) -> list[tuple[str, int]]:
        """The archived paths with their sizes in bytes, in archive (sorted) order."""
        return snapshot_sizes(self.archive)

    @property
    def tarball(self) -> tarfile.TarFile:
        """The archive opened with :mod:`tarfile`."""
        return tarfile.open(fileobj=io.BytesIO(self.archive), mode="r:gz")

    def read(self, name: str) -> str:
        """Return the text of one archived file, e.g. ``run.code.read("train.py")``.

        Raises:
            ObjectNotFound: No such file is in the snapshot (the message lists them).
        """
        with self.tarball as archive:
            try:
                member = archive.extractfile(name)
            except KeyError:
                member = None
            if member is None:
                files = self.files
                raise ObjectNotFound(
                    f"the code snapshot of {self._pathspec} has no file {name!r}."
                    + did_you_mean(name, files),
                    hint=f"use one of its files: {', '.join(files)}",
                )
            limit = _limit_bytes()
            data = member.read(limit + 1)  # a header may claim any size: read at most the limit
            if len(data) > limit:
                raise CodeSnapshotError(
                    f"{name} in the code snapshot of {self._pathspec} is larger than "
                    f"{limit / 2**20:g} MiB",
                    hint="raise FLOWKIT_CODE_MAX_MB if the file really is that large",
                )
            return data.decode("utf-8", "replace")

    @property
    def flowspec(self) -> str:
        """The text of the flow file."""
        return self.read(self.script_name)

    def extract(self, dest: str | Path | None = None) -> Path:
        """Write the snapshot's files under ``dest`` (a new temporary folder when omitted).

        Files are streamed to disk; extraction stops with an error once they add up to more
        than the ``code_max_mb`` setting (``FLOWKIT_CODE_MAX_MB``).

        Returns:
            The folder the files were written to.

        Raises:
            CodeSnapshotError: The snapshot expands to more than the limit.
        """
        folder = Path(dest) if dest is not None else Path(tempfile.mkdtemp(prefix="flowkit-code-"))
        folder.mkdir(parents=True, exist_ok=True)
        extract_snapshot(self.archive, folder, max_bytes=_limit_bytes())
        return folder


def _limit_bytes() -> int:
    from flowkit.settings import load_settings

    return int(load_settings().code_max_mb * 2**20)
