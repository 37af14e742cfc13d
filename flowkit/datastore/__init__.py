"""Where flowkit keeps runs, task manifests, logs and artifacts.

Layers, each importing only the ones before it:

* :mod:`~flowkit.datastore.backend` — the :class:`StorageBackend` interface every store implements.
* :mod:`~flowkit.datastore.local` — local folders (atomic renames, hard-link claims).
* :mod:`~flowkit.datastore.generic` — any fsspec URL, through fsspec's generic API.
* :mod:`~flowkit.datastore.s3` — S3: conditional writes, parallel transfers, clear errors (its
  requests in :mod:`~flowkit.datastore.s3_requests`, its event loop and sessions in
  :mod:`~flowkit.datastore.s3_session`, its errors explained in
  :mod:`~flowkit.datastore.s3_errors`).
* :mod:`~flowkit.datastore.storage` — whole objects under ``/``-separated keys, on the backend
  that the root URL's scheme selects (``datastore.<scheme>`` entry points).
* :mod:`~flowkit.datastore.content` — content-addressed, deduplicated, verified blobs.
* :mod:`~flowkit.datastore.serialize` — artifact values to bytes and back (no storage).
* :mod:`~flowkit.datastore.format` — the storage format's version and the reader's check.
* :mod:`~flowkit.datastore.failure` — why a task attempt failed, by kind.
* :mod:`~flowkit.datastore.manifest` — run and task records and their JSON form
  (:mod:`~flowkit.datastore.legacy` reads task manifests of format 0,
  :mod:`~flowkit.datastore.recordjson` checks every field read against its annotation).
* :mod:`~flowkit.datastore.runs` — one flow's run records: run ids, start and end records.
* :mod:`~flowkit.datastore.environment` — the environment a run started in (Python, packages).
* :mod:`~flowkit.datastore.flowstore` — one flow's runs, manifests, logs and artifacts.
* :mod:`~flowkit.datastore.codesnap` — reproducible archives of a flow's code.
* :mod:`~flowkit.datastore.tags` — tag changes made to runs after they started.
* :mod:`~flowkit.datastore.verify` — checking every stored object of a flow; quarantining.
"""

from flowkit.datastore.codesnap import (
    CodeSnapshot,
    build_snapshot,
    extract_snapshot,
    list_snapshot,
)
from flowkit.datastore.content import ContentStore
from flowkit.datastore.environment import RunEnvironment
from flowkit.datastore.flowstore import FlowDatastore, flow_names
from flowkit.datastore.format import FORMAT_VERSION, FormatTooNew
from flowkit.datastore.manifest import (
    ArtifactRef,
    Failure,
    FailureKind,
    ForeachFrame,
    LogOrigin,
    RunEnd,
    RunRecord,
    RunStatus,
    TaskManifest,
    TaskStatus,
)
from flowkit.datastore.serialize import SerializedArtifact, deserialize, serialize
from flowkit.datastore.storage import ByteStorage
from flowkit.datastore.tags import TagLog

__all__ = [
    "FORMAT_VERSION",
    "ArtifactRef",
    "ByteStorage",
    "CodeSnapshot",
    "ContentStore",
    "Failure",
    "FailureKind",
    "FlowDatastore",
    "ForeachFrame",
    "FormatTooNew",
    "LogOrigin",
    "RunEnd",
    "RunEnvironment",
    "RunRecord",
    "RunStatus",
    "SerializedArtifact",
    "TagLog",
    "TaskManifest",
    "TaskStatus",
    "build_snapshot",
    "deserialize",
    "extract_snapshot",
    "flow_names",
    "list_snapshot",
    "serialize",
]
