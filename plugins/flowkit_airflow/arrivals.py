"""New objects under a ``@trigger`` location, each started once: what the DAG's first task polls.

Airflow 3 starts a DAG on a schedule or an asset event; an object landing in S3 or in a folder
emits no event by itself (that takes a message-queue provider). So a DAG of a flow with
``@trigger`` runs on a polling schedule, and its first task, ``flowkit-trigger`` (a
short-circuit task), calls :func:`claim_next_object`: it lists the location with fsspec, takes
the oldest matching object that no earlier poll took, and records that in the flowkit datastore
with an exclusive create, keyed by the object's identity (bucket, key and etag, or for a local
file its size and modification time). Two polls that see the same object, from one scheduler or
two, cannot both win the create: one run per object. When nothing new is there the task returns
nothing and Airflow skips the rest of the DAG run, so no flowkit run is made.

Imports no Airflow.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flowkit.extend import FlowkitError, load_settings

#: Folder (under the flow's folder in the datastore) of the objects already started.
CONSUMED = "airflow-triggers"


class TriggerPollError(FlowkitError):
    """The trigger's location could not be listed."""

    headline = "cannot poll the trigger's location"


def _filesystem(kind: str, storage: Any) -> Any:
    """The fsspec filesystem to list a location of ``kind`` (``s3`` or ``path``) with."""
    import fsspec

    if kind == "path":
        return fsspec.filesystem("file")
    if str(storage.root).startswith("s3://"):
        return storage.fs  # the datastore's own S3 settings and credentials
    settings = load_settings()
    options: dict[str, Any] = {"use_listings_cache": False, "skip_instance_cache": True}
    if settings.s3_endpoint_url:
        options["endpoint_url"] = settings.s3_endpoint_url
    if settings.aws_profile:
        options["profile"] = settings.aws_profile
    return fsspec.filesystem("s3", **options)


def _mtime(info: Mapping[str, Any]) -> float:
    value = info.get("mtime", info.get("LastModified", 0))
    return value.timestamp() if isinstance(value, datetime) else float(value or 0)


def object_fields(kind: str, info: Mapping[str, Any]) -> dict[str, Any]:
    """What the run learns of an object (``current.trigger``): type, url, bucket, key, etag,
    version_id. A local file has no etag: its size and modification time stand in."""
    name = str(info["name"])
    if kind == "s3":
        bucket, _, key = name.partition("/")
        etag = str(info.get("ETag") or info.get("etag") or "").strip('"')
        return {
            "type": "s3",
            "url": f"s3://{name}",
            "bucket": bucket,
            "key": key,
            "etag": etag,
            "version_id": info.get("VersionId") or info.get("version_id"),
        }
    mtime_ns = int(_mtime(info) * 1e9)
    return {
        "type": "path",
        "url": f"file://{name}",
        "bucket": "",
        "key": name,
        "etag": f"{int(info.get('size') or 0)}-{mtime_ns}",
        "version_id": None,
    }


def consumed_key(flow_name: str, dag_id: str, fields: Mapping[str, Any]) -> str:
    """The datastore key recording that ``dag_id`` started a run for this object."""
    identity = json.dumps([fields["bucket"], fields["key"], fields["etag"]])
    digest = hashlib.sha256(identity.encode()).hexdigest()
    return f"{flow_name}/{CONSUMED}/{dag_id}/{digest}"


def list_objects(kind: str, url: str, suffix: str, storage: Any) -> list[dict[str, Any]]:
    """Matching objects under ``url``, oldest first (ties: by name), as :func:`object_fields`.

    Raises:
        TriggerPollError: The location cannot be listed.
    """
    fs = _filesystem(kind, storage)
    path = url.removeprefix("s3://")
    try:
        if kind == "path" and not fs.exists(path):
            return []  # the folder is made by whoever lands the first file
        found = fs.find(path, detail=True)
    except (OSError, ValueError) as exc:
        raise TriggerPollError(
            f"cannot list {url}: {exc}",
            hint="check that the location exists and the worker may read it",
        ) from exc
    infos = [
        info
        for name, info in found.items()
        if info.get("type", "file") != "directory" and name.endswith(suffix)
    ]
    infos.sort(key=lambda info: (_mtime(info), str(info["name"])))
    return [object_fields(kind, info) for info in infos]


def claim_next_object(
    storage: Any,
    flow_name: str,
    dag_id: str,
    watched: Mapping[str, str],
    dag_run_id: str = "",
) -> dict[str, Any] | None:
    """Take the oldest object under the watched location that no poll took before.

    Args:
        storage: The datastore root (``ByteStorage``) where consumption is recorded.
        flow_name: The flow's name.
        dag_id: The DAG polling (a ``@project`` branch has its own: each starts its runs).
        watched: ``{"kind", "url", "suffix"}`` of the flow's ``@trigger``.
        dag_run_id: The DAG run taking the object, kept in the record for whoever looks.

    Returns:
        The object's fields (:func:`object_fields`), or ``None`` when nothing new is there.

    Raises:
        TriggerPollError: The location cannot be listed.
    """
    candidates = list_objects(watched["kind"], watched["url"], watched["suffix"], storage)
    for fields in candidates:
        key = consumed_key(flow_name, dag_id, fields)
        if storage.exists(key):
            continue  # one cheap check before the conditional write
        record = {**fields, "dag_run_id": dag_run_id, "claimed_at": time.time()}
        if storage.write(key, json.dumps(record).encode(), exclusive=True):
            return fields
    return None
