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

from flowkit.datastore.manifest import ForeachFrame, TaskManifest
from flowkit.errors import CorruptObject, ObjectNotFound, RunNotFound
from flowkit.runtime.commit import commit_task
from flowkit.runtime.output import LogSpool
from flowkit.runtime.spec import ParentRef, TaskSpec
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


# Up to this many parents go on the command line; more are stored as one blob whose name is
# passed instead, so a 100,000-way join does not exceed the system's argument-size limit.
_INLINE_PARENTS = 16
_PARENTS_HEADER = b"flowkit-parents 1\n"


def parse_parent(run_id: str, pathspec: str) -> tuple[str, str, str]:
    """``run/step/task`` or ``Flow/run/step/task`` -> (run, step, task)."""
    parts = pathspec.split("/")
    if len(parts) == 2:
        return run_id, parts[0], parts[1]
    return parts[-3], parts[-2], parts[-1]


def _stored_parents(ctx: RunContext, name: str) -> list[ParentRef]:
    try:
        data = bytes(ctx.store.content.get(name))
    except ObjectNotFound as exc:
        raise RunNotFound(
            f"the parent list {name} of this task is not in the datastore",
            hint="start the task through the runner (python FLOW.py run), which stores it",
        ) from exc
    if not data.startswith(_PARENTS_HEADER):
        raise CorruptObject(f"the blob {name} is not a list of parent tasks")
    refs = []
    for line in data[len(_PARENTS_HEADER) :].decode().splitlines():
        run_id, step, task_id, attempt = line.split("/")
        number = int(attempt) if attempt else None  # empty: the latest attempt
        refs.append(ParentRef(ctx.flow_name, run_id, step, task_id, number))
    return refs


def _parent_args(ctx: RunContext, parents: list[ParentRef]) -> list[str]:
    if len(parents) <= _INLINE_PARENTS:
        out = []
        for ref in parents:
            out += ["--parent", f"{ref.run_id}/{ref.step}/{ref.task_id}"]
        return out
    lines = "\n".join(
        f"{r.run_id}/{r.step}/{r.task_id}/{'' if r.attempt is None else r.attempt}" for r in parents
    )
    name = ctx.store.content.put([_PARENTS_HEADER, lines.encode()])
    return ["--parent", f"@{name}"]


def spec_from_args(
    ctx: RunContext,
    step: str,
    task_id: str,
    attempt: int,
    parents: list[str],
    foreach_json: str,
    iteration: int = 0,
) -> TaskSpec:
    """Rebuild a :class:`TaskSpec` from command-line values.

    A ``--parent`` of ``@NAME`` names a stored list of parents (what :func:`spec_to_args` passes
    for a wide join). The parents' manifests are read by the task itself when it runs.

    Raises:
        RunNotFound: The run does not exist, or a stored parent list is missing.
    """
    record = ctx.store.run_record(ctx.run_id)
    refs: list[ParentRef] = []
    for pathspec in parents:
        if pathspec.startswith("@"):
            refs += _stored_parents(ctx, pathspec[1:])
            continue
        run_id, parent_step, parent_task = parse_parent(ctx.run_id, pathspec)
        refs.append(ParentRef(ctx.flow_name, run_id, parent_step, parent_task))
    levels = [ForeachFrame.from_dict(raw) for raw in json.loads(foreach_json or "[]")]
    params = dict(record.parameters)
    return TaskSpec(step, task_id, attempt, refs, levels, params, iteration=iteration)


def spec_to_args(ctx: RunContext, spec: TaskSpec, *, with_specs: bool = True) -> list[str]:
    """The ``step`` command's arguments that :func:`spec_from_args` turns back into ``spec``.

    Every executor that starts a task in a fresh interpreter (spawn, Batch) builds its command
    line here, so the entry point and its callers cannot drift apart. A foreach child's
    arguments carry its own element's blob name, never the collection. With ``with_specs``
    false the run's ``--with`` values are left out, for a caller that passes them separately.
    """
    args = ["step", spec.step, "--task-id", spec.task_id, "--attempt", str(spec.attempt)]
    args += _parent_args(ctx, spec.parents)
    if spec.foreach:
        args += ["--foreach-json", json.dumps([frame.to_dict() for frame in spec.foreach])]
    if spec.iteration:
        args += ["--iteration", str(spec.iteration)]
    args += ["--run-id", ctx.run_id]
    if with_specs:
        for with_spec in ctx.with_specs:
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
