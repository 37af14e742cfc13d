"""Committing a task: its logs first, then its manifest, which makes the task exist."""

from __future__ import annotations

from collections.abc import Mapping

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import TaskManifest


def commit_task(store: FlowDatastore, manifest: TaskManifest, logs: Mapping[str, bytes]) -> None:
    """Write the task's non-empty logs, then its manifest (atomically, last).

    A reader that finds the manifest therefore finds the logs and every artifact blob too; a task
    that dies before this point simply does not exist, and a resumed run re-runs it.
    """
    for stream, data in logs.items():
        if data:
            store.write_log(
                manifest.run_id, manifest.step, manifest.task_id, manifest.attempt, stream, data
            )
            manifest.logs[stream] = len(data)
    store.write_manifest(manifest)
