"""The fresh-interpreter entry point: run exactly one task, then commit it.

``python myflow.py step STEP --run-id R --task-id T ...`` ends up here. Remote executors (AWS
Batch) and platforms without ``fork`` use it; the task reads its inputs from the datastore and
writes its outputs, logs and manifest there, so nothing needs to be sent back.
"""

from __future__ import annotations

import io
import json
import sys
from typing import Any, TextIO

from flowkit.datastore.manifest import TaskManifest
from flowkit.errors import RunNotFound
from flowkit.runtime.commit import commit_task
from flowkit.runtime.output import LogSpool
from flowkit.runtime.spec import TaskSpec, levels_from_json, levels_to_json
from flowkit.runtime.task import RunContext, execute_task


class _Tee(io.TextIOBase):
    """Writes to the real stream (live output) and keeps a copy (the task's log, spooled to a
    temporary file when large, so a task printing gigabytes does not hold them in memory)."""

    def __init__(self, real: TextIO) -> None:
        self._real = real
        self.copy = LogSpool()

    def write(self, text: str) -> int:
        self._real.write(text)
        self._real.flush()
        # "replace": a lone surrogate in printed text must not fail the task's commit.
        self.copy.write(text.encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        self._real.flush()


def parse_parent(run_id: str, pathspec: str) -> tuple[str, str, str]:
    """``run/step/task`` or ``Flow/run/step/task`` -> (run, step, task)."""
    parts = pathspec.split("/")
    if len(parts) == 2:
        return run_id, parts[0], parts[1]
    return parts[-3], parts[-2], parts[-1]


def spec_from_args(
    ctx: RunContext, step: str, task_id: str, attempt: int, parents: list[str], foreach_json: str
) -> TaskSpec:
    """Rebuild a :class:`TaskSpec` from command-line values, reading parents from the datastore.

    Raises:
        RunNotFound: The run or a parent task does not exist.
    """
    record = ctx.store.run_record(ctx.run_id)
    manifests: list[TaskManifest] = []
    for pathspec in parents:
        run_id, parent_step, parent_task = parse_parent(ctx.run_id, pathspec)
        try:
            manifests.append(ctx.store.read_manifest(run_id, parent_step, parent_task))
        except RunNotFound as exc:
            raise RunNotFound(
                f"parent task {pathspec} has no manifest", hint="run it first"
            ) from exc
    levels = levels_from_json(json.loads(foreach_json)) if foreach_json else []
    return TaskSpec(step, task_id, attempt, manifests, levels, dict(record.parameters))


def spec_to_args(spec: TaskSpec, run_id: str, with_specs: tuple[str, ...] = ()) -> list[str]:
    """The ``step`` command's arguments that :func:`spec_from_args` turns back into ``spec``.

    Every executor that starts a task in a fresh interpreter (spawn, Batch) builds its command
    line here, so the entry point and its callers cannot drift apart.
    """
    args = ["step", spec.step, "--task-id", spec.task_id, "--attempt", str(spec.attempt)]
    for parent in spec.parents:
        args += ["--parent", f"{parent.run_id}/{parent.step}/{parent.task_id}"]
    if spec.foreach:
        args += ["--foreach-json", json.dumps(levels_to_json(spec.foreach))]
    args += ["--run-id", run_id]
    for with_spec in with_specs:
        args += ["--with", with_spec]
    return args


def run_single_task(ctx: RunContext, spec: TaskSpec) -> TaskManifest:
    """Execute ``spec`` in this process, capture its output, commit it; return its manifest."""
    tees: dict[str, Any] = {"stdout": _Tee(sys.stdout), "stderr": _Tee(sys.stderr)}
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = tees["stdout"], tees["stderr"]
    try:
        manifest = execute_task(ctx, spec)
    finally:
        sys.stdout, sys.stderr = saved
    commit_task(ctx.store, manifest, {k: t.copy for k, t in tees.items()})
    return manifest
