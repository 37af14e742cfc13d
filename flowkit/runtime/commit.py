"""Committing a task: its logs first, then its manifest, which makes the task exist."""

from __future__ import annotations

from collections.abc import Mapping

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import TaskManifest
from flowkit.errors import DatastoreWriteError
from flowkit.runtime.output import LogData, LogSpool


def commit_task(store: FlowDatastore, manifest: TaskManifest, logs: Mapping[str, LogData]) -> None:
    """Write the task's non-empty logs, then its manifest (atomically, last).

    A reader that finds the manifest therefore finds the logs and every artifact blob too; a task
    that dies before this point simply does not exist, and a resumed run re-runs it. Spooled logs
    are streamed to storage in bounded chunks and their spools closed (also when a write fails).
    """
    try:
        for stream, data in logs.items():
            size = data.size if isinstance(data, LogSpool) else len(data)
            if not size:
                continue
            ids = (manifest.run_id, manifest.step, manifest.task_id, manifest.attempt, stream)
            if isinstance(data, LogSpool) and data.error:
                url = store.log_url(*ids)
                raise DatastoreWriteError(f"cannot write {url}: {data.error}", url=url)
            if isinstance(data, LogSpool) and data.spooled:
                store.write_log_stream(*ids, data.reader())
            else:
                store.write_log(*ids, data.getvalue() if isinstance(data, LogSpool) else data)
            manifest.logs[stream] = size
    finally:
        close_logs(logs)
    store.write_manifest(manifest)


def close_logs(logs: Mapping[str, LogData]) -> None:
    """Release the spools among ``logs`` (their temporary files go away)."""
    for data in logs.values():
        if isinstance(data, LogSpool):
            data.close()
