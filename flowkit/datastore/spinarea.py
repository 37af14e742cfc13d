"""The spin area: a datastore that reads a past run's inputs and keeps its own outputs apart.

``python flow.py spin STEP`` runs one step again against the inputs one of its past tasks had.
Those inputs (parent manifests, artifact blobs, parameters) are read from the flow's real
datastore, the *origin*; everything the spun step writes goes to a separate root: memory that is
discarded (the default) or the ``.flowkit_spin/`` folder of the working directory
(``--persist``). The real datastore is never written, so ``flowkit runs``, ``Flow.runs()`` and
``latest_run`` never see a spin.

A manifest written to the spin area is made self-contained first (the blobs it refers to that
only the origin holds are copied), so the client reads a persisted spin with nothing but the spin
folder: ``flowkit.inspect_spin(".")``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from flowkit.datastore.content import ContentStore
from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import ArtifactRef, TaskManifest
from flowkit.datastore.storage import ByteStorage

#: The folder, in the working directory, that holds persisted spins.
SPIN_FOLDER = ".flowkit_spin"


def spin_root(folder: str | os.PathLike[str] = ".") -> str:
    """The root of the spin area of ``folder`` (``folder/.flowkit_spin``), as an absolute path."""
    return str(Path(folder).resolve() / SPIN_FOLDER)


class OverlayContentStore(ContentStore):
    """Blobs written here; read here first, then from the origin's content store.

    Args:
        storage: Where new blobs go.
        prefix: The blob folder under ``storage``.
        origin: The content store read when a blob is not here.
    """

    def __init__(self, storage: ByteStorage, prefix: str, origin: ContentStore) -> None:
        super().__init__(storage, prefix)
        self.origin = origin

    def get(self, digest: str) -> bytearray:
        """The blob ``digest`` from here, else from the origin (see :meth:`ContentStore.get`)."""
        if super().exists(digest):
            return super().get(digest)
        return self.origin.get(digest)

    def get_many(self, digests: Iterable[str]) -> dict[str, bytearray]:
        """Several blobs, each from here or else from the origin."""
        return {digest: self.get(digest) for digest in dict.fromkeys(digests)}

    def exists(self, digest: str) -> bool:
        """Whether the blob is here or in the origin."""
        return super().exists(digest) or self.origin.exists(digest)

    def exists_many(self, digests: Iterable[str]) -> set[str]:
        """The subset of ``digests`` stored here or in the origin."""
        wanted = list(digests)
        here = super().exists_many(wanted)
        return here | self.origin.exists_many(d for d in wanted if d not in here)

    def copy_in(self, digests: Iterable[str]) -> int:
        """Copy the blobs only the origin holds here; return how many were copied.

        Raises:
            ObjectNotFound: A blob is in neither store.
        """
        wanted = list(dict.fromkeys(digests))
        here = super().exists_many(wanted)
        missing = [d for d in wanted if d not in here]
        for digest in missing:
            self.put([self.origin.get(digest)])
        return len(missing)


class SpinDatastore(FlowDatastore):
    """A flow datastore whose task inputs come from ``origin`` and whose writes stay here.

    Manifests are read from the origin (a spun task reads only its parents'), written here.
    ``overrides`` replace artifacts in every parent manifest read, which is how a spin's input
    artifacts are overridden (``--artifacts-module``).

    Args:
        storage: The spin area's root (``memory://...`` or a ``.flowkit_spin`` folder).
        origin: The flow's real datastore.
        overrides: Artifact name to stored value, applied over every input manifest.
    """

    def __init__(
        self,
        storage: ByteStorage,
        origin: FlowDatastore,
        overrides: Mapping[str, ArtifactRef] | None = None,
    ) -> None:
        super().__init__(storage, origin.flow_name)
        self.origin = origin
        self.overlay = OverlayContentStore(storage, f"{origin.flow_name}/data", origin.content)
        self.content = self.overlay
        self.overrides = dict(overrides or {})

    def read_manifest(
        self, run_id: str, step: str, task_id: str, attempt: int | None = None
    ) -> TaskManifest:
        """The origin's manifest, with the overridden artifacts replaced.

        Raises:
            RunNotFound: The origin has no such task.
        """
        manifest = self.origin.read_manifest(run_id, step, task_id, attempt)
        if self.overrides:
            manifest.artifacts = {**manifest.artifacts, **self.overrides}
        return manifest

    def write_manifest(self, manifest: TaskManifest) -> None:
        """Store the manifest here after copying in the blobs it refers to.

        Raises:
            ObjectNotFound: A blob the manifest names is in neither store.
        """
        names = [ref.sha for ref in manifest.artifacts.values()]
        for frame in manifest.foreach_stack:  # the client reads a foreach child's input
            names += [n for n in (frame.element, frame.items) if n is not None]
        self.overlay.copy_in(names)
        super().write_manifest(manifest)

    def copy_blobs(self, refs: Iterable[ArtifactRef]) -> int:
        """Make the blobs of ``refs`` readable from the spin area alone; return how many were
        copied from the origin.

        Raises:
            ObjectNotFound: A blob is in neither store.
        """
        return self.overlay.copy_in(ref.sha for ref in refs)
