"""The datastore of one flow: run ids, run records, task manifests, logs and artifacts.

Layout under the storage root::

    {flow}/data/{sha[:2]}/{sha}                                   artifact blobs (deduplicated)
    {flow}/runs/{run_id}/run.json                                 start record; claims the id
    {flow}/runs/{run_id}/end.json                                 the complete record, at end
    {flow}/runs/{run_id}/heartbeat.json                           lease of a running run
    {flow}/runs/{run_id}/{step}/{task_id}/{attempt}.manifest.json commit point of a task attempt
    {flow}/runs/{run_id}/{step}/{task_id}/{attempt}.{stream}      non-empty logs
    {flow}/latest                                                 hint: highest run id allocated
    {flow}/named_runs/{ms}-{run_id}                               marker of a run started under a
                                                                  chosen id (``sfn-``, ``airflow-``)
    {flow}/environments/{fingerprint}                             memo (``environment.py``)
    {flow}/tags/{run_id}/{event}.json                             tag changes (see ``tags.py``)
    {flow}/quarantine/{key}.{time}-{token}                        damaged objects set aside

Nothing here is ever updated in place except the ``latest`` hint, which readers only trust as a
starting point, and a running run's lease, which only its own runner writes. That is what lets
several runners share one datastore without a lock.

Records are validated when read: a damaged one raises :class:`~flowkit.errors.CorruptRecord`
naming its file, and listings (:meth:`FlowDatastore.read_manifests`) set it aside and carry on.
A damaged object is moved under ``quarantine/`` (by a read that finds a corrupt blob, or by
``flowkit verify --repair``), never deleted.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from typing import IO, Any

from flowkit.datastore.content import ContentStore
from flowkit.datastore.environment import RunEnvironment, record_environment
from flowkit.datastore.manifest import ArtifactRef, RunRecord, TaskManifest
from flowkit.datastore.runs import RunRecords, numeric_first, segment
from flowkit.datastore.serialize import SerializedArtifact, deserialize, serialize
from flowkit.datastore.storage import ByteStorage
from flowkit.datastore.tags import TagLog
from flowkit.errors import (
    ArtifactWriteError,
    BrokenArtifact,
    CorruptObject,
    CorruptRecord,
    DatastoreError,
    DatastoreWriteError,
    ObjectNotFound,
    RunNotFound,
)

_MANIFEST_SUFFIX = ".manifest.json"
# How far a damaged artifact is traced back through parent tasks to the one that produced it.
_MAX_PRODUCER_HOPS = 10_000


class FlowDatastore(RunRecords):
    """Reads and writes everything stored for one flow.

    Args:
        storage: The datastore root.
        flow_name: The flow class name, e.g. ``"HelloFlow"``.

    Attributes:
        storage: The datastore root.
        flow_name: The flow class name.
        content: The flow's artifact blobs, under ``{flow}/data``.
        tags: Tag changes made to the flow's runs after they started.
    """

    def __init__(self, storage: ByteStorage, flow_name: str) -> None:
        super().__init__(storage, flow_name)
        self.content = ContentStore(storage, f"{flow_name}/data")
        self.tags = TagLog(storage, flow_name)

    def __repr__(self) -> str:
        return f"FlowDatastore({self.storage.root!r}, {self.flow_name!r})"

    # -- runs ------------------------------------------------------------------------------

    def run_tags(self, record: RunRecord, *, changed: bool = True) -> list[str]:
        """Return the run's user tags now: its record's, with later changes applied.

        Args:
            record: The run's record.
            changed: ``False`` when the caller knows (from ``tags.runs_with_events()``) that
                the run's tags never changed, which saves a listing.
        """
        return self.tags.apply(record.run_id, record.tags) if changed else sorted(record.tags)

    def change_tags(
        self, run_id: str, *, add: Iterable[str] = (), remove: Iterable[str] = (), user: str = ""
    ) -> None:
        """Add and remove user tags of a run, as one event (removals apply first).

        Raises:
            RunNotFound: The run does not exist.
            TagError: A tag is invalid.
        """
        if not self.storage.exists(self._run_key(run_id)):
            raise self._run_not_found(run_id)
        self.tags.record(run_id, add=add, remove=remove, user=user)

    def record_environment(self) -> str:
        """Store the environment this process runs in (once per distinct environment).

        Returns:
            The blob name to keep in the run record's ``environment_sha``.
        """
        return record_environment(self.storage, self.content, self.flow_name)

    def read_environment(self, sha: str) -> RunEnvironment:
        """Return a recorded environment by its blob name.

        Raises:
            ObjectNotFound: The blob is missing.
            CorruptObject: The blob is damaged or is not an environment record.
            FormatTooNew: It was written in a newer major format.
        """
        return RunEnvironment.from_json(self.content.get(sha))

    # -- tasks -----------------------------------------------------------------------------

    def steps(self, run_id: str) -> list[str]:
        """Return the names of the steps that have tasks in the run (``[]`` if none)."""
        # Step names are identifiers, which tells them apart from run.json and end.json.
        return [n for n in self.storage.list(self._run_prefix(run_id)) if n.isidentifier()]

    def tasks(self, run_id: str, step: str) -> list[str]:
        """Return the task ids of a step of the run, in numeric order (``[]`` if none)."""
        names = self.storage.list(f"{self._run_prefix(run_id)}/{segment(step, 'step name')}")
        return sorted(names, key=numeric_first)

    def attempts(self, run_id: str, step: str, task_id: str) -> list[int]:
        """Return the attempts of a task that have a manifest, in increasing order."""
        names = self.storage.list(self._task_prefix(run_id, step, task_id))
        stems = (n[: -len(_MANIFEST_SUFFIX)] for n in names if n.endswith(_MANIFEST_SUFFIX))
        return sorted(int(stem) for stem in stems if stem.isdigit())

    def write_manifest(self, manifest: TaskManifest) -> None:
        """Store a task attempt's manifest; this is the moment the attempt becomes visible.

        Raises:
            DatastoreError: The manifest belongs to another flow.
        """
        if manifest.flow != self.flow_name:
            raise DatastoreError(
                f"the manifest of {manifest.pathspec} cannot be stored with the flow "
                f"{self.flow_name}"
            )
        self.storage.write(
            self._manifest_key(manifest.run_id, manifest.step, manifest.task_id, manifest.attempt),
            manifest.to_json(),
        )

    def read_manifest(
        self, run_id: str, step: str, task_id: str, attempt: int | None = None
    ) -> TaskManifest:
        """Return the manifest of one attempt of a task.

        Args:
            run_id: The run.
            step: The step name.
            task_id: The task id.
            attempt: The attempt; the highest one stored when ``None``.

        Raises:
            RunNotFound: The task (or that attempt of it) has no manifest.
            CorruptRecord: The manifest is damaged; the message names the file.
        """
        pathspec = f"{self.flow_name}/{run_id}/{step}/{task_id}"
        if attempt is None:
            stored = self.attempts(run_id, step, task_id)
            if not stored:
                raise RunNotFound(
                    f"the task {pathspec} does not exist or has not finished",
                    hint=f"list the tasks of the run with the client: Run('{self.flow_name}/"
                    f"{run_id}')",
                )
            attempt = stored[-1]
        key = self._manifest_key(run_id, step, task_id, attempt)
        try:
            data = self.storage.read(key)
        except ObjectNotFound as exc:
            raise RunNotFound(f"the task {pathspec} has no attempt {attempt}") from exc
        manifest = self._parse(TaskManifest.from_json, data, key, pathspec)
        if manifest.pathspec != pathspec or manifest.attempt != attempt:
            raise self._corrupt(
                key, f"it describes {manifest.pathspec} attempt {manifest.attempt}", pathspec
            )
        return manifest

    def manifests(self, run_id: str) -> list[TaskManifest]:
        """Return the manifest of the latest attempt of every finished task of the run.

        Tasks without a manifest (still running, or killed before committing) are left out.

        Raises:
            CorruptRecord: A manifest is damaged (see :meth:`read_manifests` to carry on).
        """
        found, damaged = self.read_manifests(run_id)
        if damaged:
            raise damaged[0]
        return found

    def read_manifests(self, run_id: str) -> tuple[list[TaskManifest], list[CorruptRecord]]:
        """Like :meth:`manifests`, but a damaged manifest is set aside instead of raised.

        Returns:
            The readable manifests, and one error (naming the file) per damaged one.
        """
        found: list[TaskManifest] = []
        damaged: list[CorruptRecord] = []
        for step in self.steps(run_id):
            for task_id in self.tasks(run_id, step):
                stored = self.attempts(run_id, step, task_id)
                if not stored:
                    continue
                try:
                    found.append(self.read_manifest(run_id, step, task_id, stored[-1]))
                except CorruptRecord as exc:
                    damaged.append(exc)
        return found, damaged

    # -- logs ------------------------------------------------------------------------------

    def write_log(
        self, run_id: str, step: str, task_id: str, attempt: int, stream: str, data: bytes
    ) -> None:
        """Store the output of one stream (``"stdout"``, ``"stderr"``) of a task attempt.

        Empty output is not written; :meth:`read_log` returns ``b""`` for it.
        """
        if data:
            self.storage.write(self._log_key(run_id, step, task_id, attempt, stream), data)

    def write_log_stream(
        self, run_id: str, step: str, task_id: str, attempt: int, stream: str, source: IO[bytes]
    ) -> None:
        """Like :meth:`write_log`, for output spooled to a file: copied in bounded chunks."""
        self.storage.write_stream(self._log_key(run_id, step, task_id, attempt, stream), source)

    def log_url(self, run_id: str, step: str, task_id: str, attempt: int, stream: str) -> str:
        """Where one stream of a task attempt is (or would be) stored, for messages."""
        return self.storage.url(self._log_key(run_id, step, task_id, attempt, stream))

    def read_log(self, run_id: str, step: str, task_id: str, attempt: int, stream: str) -> bytes:
        """Return the stored output of one stream of a task attempt (``b""`` when empty)."""
        try:
            return bytes(self.storage.read(self._log_key(run_id, step, task_id, attempt, stream)))
        except ObjectNotFound:
            return b""

    def read_task_log(self, manifest: TaskManifest, stream: str) -> bytes:
        """Return a task's output on ``stream``, wherever it is stored.

        A task cloned by resume did not write logs; its manifest's ``log_origin`` names the
        task attempt that did.
        """
        origin = manifest.log_origin
        if origin is not None:
            return self.read_log(origin.run_id, origin.step, origin.task_id, origin.attempt, stream)
        return self.read_log(
            manifest.run_id, manifest.step, manifest.task_id, manifest.attempt, stream
        )

    # -- artifacts -------------------------------------------------------------------------

    def save_artifact(self, value: Any, name: str | None = None) -> ArtifactRef:
        """Serialize and store one value.

        Raises:
            UnpicklableArtifact: The value cannot be serialized.
        """
        serialized = serialize(value, name)
        sha = self.content.put(serialized.parts)
        return ArtifactRef(sha=sha, type=serialized.type_name, size=serialized.size)

    def save_artifacts(self, values: Mapping[str, Any]) -> dict[str, ArtifactRef]:
        """Serialize and store several named values with one batched existence check.

        Raises:
            UnpicklableArtifact: A value cannot be serialized; the message names it.
        """
        serialized = {name: serialize(value, name) for name, value in values.items()}
        try:
            shas = self.content.put_many([s.parts for s in serialized.values()])
        except (DatastoreError, OSError) as exc:
            raise _artifact_write_failed(serialized, exc) from exc
        return {
            name: ArtifactRef(sha=sha, type=s.type_name, size=s.size)
            for (name, s), sha in zip(serialized.items(), shas, strict=True)
        }

    def load_artifact(
        self,
        ref: ArtifactRef | str,
        *,
        name: str | None = None,
        referrers: Sequence[TaskManifest] = (),
        run_id: str | None = None,
    ) -> Any:
        """Load a stored value, given its reference or blob name.

        Args:
            ref: The artifact's reference, or its blob name.
            name: The artifact's name, for the error when its value is damaged or gone.
            referrers: Tasks whose artifacts include ``ref`` (the one being read, or the
                parents of a running task); the error names the task that produced it.
            run_id: For a parameter (no task refers to it): the run it belongs to.

        Raises:
            BrokenArtifact: With ``name``, ``referrers`` or ``run_id``: the blob is missing or
                damaged (a damaged blob is quarantined); the message names the artifact, the
                task that produced it and the blob, and says how to recompute it.
            ObjectNotFound: Without them: the blob is missing.
            CorruptObject: Without them: the blob's bytes do not match its name.
        """
        sha = ref.sha if isinstance(ref, ArtifactRef) else ref
        try:
            return deserialize(self.content.get(sha))
        except (ObjectNotFound, CorruptObject) as exc:
            if name is None and not referrers and run_id is None:
                raise
            raise self._broken_artifact(sha, exc, name, referrers, run_id) from exc

    def _broken_artifact(
        self,
        sha: str,
        exc: DatastoreError,
        name: str | None,
        referrers: Sequence[TaskManifest],
        run_id: str | None,
    ) -> BrokenArtifact:
        uses = [(n, m) for m in referrers for n, r in m.artifacts.items() if r.sha == sha]
        uses = [(n, m) for n, m in uses if name is None or n == name] or uses
        if uses:
            name, referrer = uses[0]
            producer = self._producer(referrer, name, sha)
            run_id = referrer.run_id
        else:
            producer = f"{self.flow_name}/{run_id} (a parameter of the run)"
        url = self.storage.url(self.content.key(sha))
        detail = f"its blob {url} is missing" if isinstance(exc, ObjectNotFound) else exc.message
        flow_file = "<flow file>"
        with suppress(DatastoreError):
            flow_file = self.run_record(str(run_id)).flow_file or flow_file
        return BrokenArtifact(
            f"the artifact {name or sha!r} produced by {producer} cannot be loaded: {detail}",
            hint=f"set aside every damaged object of the run with: flowkit verify "
            f"{self.flow_name}/{run_id} --repair, then recompute what was lost with: python "
            f"{flow_file} resume --origin-run-id {run_id} (tasks whose artifacts are missing run "
            "again)",
            artifact=name or sha,
            producer=producer,
            url=url,
        )

    def _producer(self, task: TaskManifest, name: str, sha: str) -> str:
        """The task that produced artifact ``name`` (blob ``sha``) seen on ``task``.

        Walks back through clones (to the task cloned) and parents that already held the same
        value, reading one manifest per hop; stops at the last one it can read.
        """
        for _ in range(_MAX_PRODUCER_HOPS):
            following = [task.origin_pathspec] if task.origin_pathspec else task.parents
            for pathspec in following:
                parts = pathspec.split("/")
                if len(parts) != 4 or parts[0] != self.flow_name:
                    continue
                try:
                    before = self.read_manifest(parts[1], parts[2], parts[3])
                except DatastoreError:
                    continue
                held = before.artifacts.get(name)
                if held is not None and held.sha == sha:
                    task = before
                    break
            else:
                return task.pathspec
        return task.pathspec

    # -- keys ------------------------------------------------------------------------------

    def _task_prefix(self, run_id: str, step: str, task_id: str) -> str:
        return (
            f"{self._run_prefix(run_id)}/{segment(step, 'step name')}/{segment(task_id, 'task id')}"
        )

    def _manifest_key(self, run_id: str, step: str, task_id: str, attempt: int) -> str:
        return f"{self._task_prefix(run_id, step, task_id)}/{int(attempt)}{_MANIFEST_SUFFIX}"

    def _log_key(self, run_id: str, step: str, task_id: str, attempt: int, stream: str) -> str:
        if not stream.isidentifier():
            raise DatastoreError(f"invalid log stream name {stream!r}; use e.g. 'stdout'")
        return f"{self._task_prefix(run_id, step, task_id)}/{int(attempt)}.{stream}"

    def _parse(self, parse: Any, data: bytearray, key: str, what: str) -> Any:
        try:
            return parse(data)
        except CorruptObject as exc:
            raise self._corrupt(key, exc.message, what) from exc

    def quarantine(self, key: str) -> str:
        """Move the object under ``key`` (inside this flow's folder) to the flow's quarantine.

        Returns:
            The URL it was moved to.

        Raises:
            ObjectNotFound: Nothing is stored under ``key``.
        """
        inside = key.removeprefix(f"{self.flow_name}/")
        stamp = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(4)}"
        new_key = f"{self.flow_name}/quarantine/{inside}.{stamp}"
        self.storage.move(key, new_key)
        return self.storage.url(new_key)


def _artifact_write_failed(
    serialized: Mapping[str, SerializedArtifact], exc: BaseException
) -> ArtifactWriteError:
    """Name the artifact whose blob could not be stored (found by its digest in the message)."""
    text = exc.message if isinstance(exc, DatastoreError) else str(exc)
    url = exc.url if isinstance(exc, DatastoreWriteError) else ""
    names = list(serialized)
    for name, value in serialized.items():
        digest = hashlib.sha256()
        for part in value.parts:
            digest.update(part)
        if digest.hexdigest() in text:
            names = [name]
            break
    what = f"artifact {names[0]!r}" if len(names) == 1 else f"artifacts {', '.join(names)}"
    hint = exc.hint if isinstance(exc, DatastoreError) else ""
    return ArtifactWriteError(f"cannot store {what}: {text}", url=url, hint=hint)


def flow_names(storage: ByteStorage) -> list[str]:
    """Return the names of the flows that have runs in the datastore, sorted."""
    return [
        name for name in storage.list("") if name.isidentifier() and "runs" in storage.list(name)
    ]
