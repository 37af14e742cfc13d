"""Building version records from what the datastore knows about the producing task.

A version records where its value came from: the task, its run's code snapshot and
parameters, the artifacts of the tasks it ran after (its possible inputs: a task record does
not say which of them the step read) and the datasets it read (catalog lineage, when the caller
has it). Two doors lead here: an artifact of a finished task (:func:`draft_from_task`) and a
value handed to ``current.registry.register`` inside a running task (:func:`draft_from_value`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import ArtifactRef, RunRecord
from flowkit.errors import ArtifactNotFound, FlowkitError, RunNotFound, did_you_mean
from flowkit.modelreg.errors import RegistryError
from flowkit.modelreg.records import Kind, ModelVersion, check_name


def draft_from_task(
    store: FlowDatastore,
    pathspec: str,
    artifact: str,
    *,
    name: str,
    kind: Kind = "model",
    user: str = "",
    metrics: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    datasets: Sequence[Mapping[str, Any]] = (),
    description: str = "",
) -> ModelVersion:
    """A version record (number 0, to be allocated) of ``artifact`` of a finished task.

    Args:
        store: The producing flow's datastore.
        pathspec: The task, ``Flow/run/step/task``.
        artifact: The artifact's name in that task.
        name: The registered name.
        kind: ``"model"`` or ``"dataset"``.
        user: Who registers it.
        metrics: Numbers (or strings) to keep with the version.
        tags: Key-value tags.
        datasets: The task's catalog lineage, if known.
        description: A sentence.

    Raises:
        RunNotFound: The task has no record.
        ArtifactNotFound: The task has no such artifact (with did-you-mean).
    """
    parts = pathspec.split("/")
    if len(parts) != 4:
        raise RegistryError(
            f"{pathspec!r} does not name a task",
            hint="name it as Flow/run/step/task, e.g. TrainFlow/12/train/3",
        )
    _, run_id, step, task_id = parts
    manifest = store.read_manifest(run_id, step, task_id)
    ref = manifest.artifacts.get(artifact)
    if ref is None:
        known = sorted(manifest.artifacts)
        raise ArtifactNotFound(
            f"the task {pathspec} has no artifact {artifact!r}." + did_you_mean(artifact, known),
            hint="its artifacts: " + (", ".join(known) or "none"),
        )
    return _draft(
        store,
        ref,
        pathspec,
        artifact,
        manifest.parents,
        name=name,
        kind=kind,
        user=user,
        metrics=metrics,
        tags=tags,
        datasets=datasets,
        description=description,
    )


def draft_from_value(
    store: FlowDatastore,
    value: Any,
    pathspec: str,
    parents: Sequence[str],
    artifact: str | None,
    *,
    name: str,
    kind: Kind = "model",
    user: str = "",
    metrics: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    description: str = "",
) -> ModelVersion:
    """A version record of a value a running task registers; the value is stored now.

    The value is serialized and stored as a content-addressed blob of the flow: when the step
    also keeps it as an artifact (``self.model``), the task's own commit finds the same blob
    and stores nothing again.

    Raises:
        UnpicklableArtifact: The value cannot be serialized.
    """
    ref = store.save_artifact(value, artifact or name)
    return _draft(
        store,
        ref,
        pathspec,
        artifact,
        parents,
        name=name,
        kind=kind,
        user=user,
        metrics=metrics,
        tags=tags,
        datasets=(),
        description=description,
    )


def inputs_of(store: FlowDatastore, parents: Sequence[str]) -> list[dict[str, Any]]:
    """The artifacts of each parent task, ``[{"task": pathspec, "artifacts": {name: sha}}]``.

    A parent whose record cannot be read is listed with no artifacts rather than failing the
    registration: lineage is a record of what is known.
    """
    inputs: list[dict[str, Any]] = []
    for parent in parents:
        parts = parent.split("/")
        artifacts: dict[str, str] = {}
        if len(parts) == 4 and parts[0] == store.flow_name:
            try:
                manifest = store.read_manifest(parts[1], parts[2], parts[3])
                artifacts = {k: r.sha for k, r in sorted(manifest.artifacts.items())}
            except FlowkitError:
                artifacts = {}
        inputs.append({"task": parent, "artifacts": artifacts})
    return inputs


def _draft(
    store: FlowDatastore,
    ref: ArtifactRef,
    pathspec: str,
    artifact: str | None,
    parents: Sequence[str],
    *,
    name: str,
    kind: Kind,
    user: str,
    metrics: Mapping[str, Any] | None,
    tags: Mapping[str, str] | None,
    datasets: Sequence[Mapping[str, Any]],
    description: str,
) -> ModelVersion:
    if kind not in ("model", "dataset"):
        raise RegistryError(
            f"kind must be 'model' or 'dataset', not {kind!r}", hint="pass kind='dataset'"
        )
    try:
        record: RunRecord | None = store.run_record(pathspec.split("/")[1])
    except RunNotFound:
        # A spin that is not persisted runs under no run record; its registry, like its
        # outputs, lives in the spin area and is discarded with it.
        record = None
    return ModelVersion(
        name=check_name(name),
        number=0,
        kind=kind,
        sha=ref.sha,
        type=ref.type,
        size=ref.size,
        flow=store.flow_name,
        pathspec=pathspec,
        artifact=artifact,
        user=user,
        created_at=time.time(),
        code_sha=record.code_sha if record else None,
        parameters=dict(record.parameter_values) if record else {},
        inputs=inputs_of(store, parents),
        datasets=[_plain(d) for d in datasets],
        metrics=_checked_metrics(metrics or {}),
        tags={str(k): str(v) for k, v in (tags or {}).items()},
        description=description,
    )


def _checked_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if hasattr(value, "item") and callable(value.item):  # numpy scalars
            value = value.item()
        if not isinstance(value, (int, float, str, bool)) and value is not None:
            raise RegistryError(
                f"the metric {key!r} is a {type(value).__name__}; metrics are numbers or strings",
                hint=f"pass float(...) for {key!r}, or keep the value as an artifact instead",
            )
        out[str(key)] = value
    return out


def _plain(entry: Mapping[str, Any]) -> dict[str, Any]:
    # Lineage entries come from another layer; keep only what JSON can hold.
    return {
        str(k): v if isinstance(v, (int, float, str, bool, type(None), list, dict)) else str(v)
        for k, v in entry.items()
    }
