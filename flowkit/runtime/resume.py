"""Resuming a run: which tasks of the origin run can be cloned instead of run again.

A task of the new run is cloned when the origin run has a successful task with the same identity
(step and foreach indexes), its step is not forced to re-run, and it would receive exactly the
inputs the origin task received (its parents are clones of the origin task's parents). Cloning
copies the manifest only: the artifacts are the same blobs, nothing is re-serialized and no
process is started.
"""

from __future__ import annotations

import dataclasses
import time

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import RunRecord, TaskManifest
from flowkit.errors import FlowkitError, RunNotFound, did_you_mean
from flowkit.graph.model import FlowGraph
from flowkit.runtime.spec import TaskSpec

_Identity = tuple[str, tuple[int, ...]]


class ResumeError(FlowkitError):
    """The run cannot be resumed as asked."""

    exit_code = 2
    headline = "cannot resume"


def _identity(step: str, manifest_or_spec: TaskManifest | TaskSpec) -> _Identity:
    if isinstance(manifest_or_spec, TaskSpec):
        return step, tuple(level.index for level in manifest_or_spec.foreach)
    return step, tuple(frame.index for frame in manifest_or_spec.foreach_stack)


def find_origin(store: FlowDatastore, flow_name: str, wanted: str | None) -> RunRecord:
    """The run to resume: ``wanted`` (``12`` or ``Flow/12``) or the flow's latest run.

    Raises:
        ResumeError: No run to resume, or the id names another flow or no run at all.
    """
    if wanted is None:
        latest = store.latest_run_id()
        if latest is None:
            raise ResumeError(
                f"there is no earlier run of {flow_name} to resume in {store.storage.root}",
                hint="start one with: python <flow file> run",
            )
        return store.run_record(latest)
    run_id = wanted
    if "/" in wanted:
        flow, _, run_id = wanted.partition("/")
        if flow != flow_name:
            raise ResumeError(
                f"run {wanted} belongs to flow {flow}, not to {flow_name}",
                hint=f"resume a run of {flow_name}, or run resume from {flow}'s flow file",
            )
    try:
        return store.run_record(run_id)
    except RunNotFound:
        known = store.run_ids()
        recent = ", ".join(known[-5:]) or "none"
        raise ResumeError(
            f"{flow_name} has no run {run_id!r} (most recent runs: {recent})",
            hint="pass an existing id with --origin-run-id, or omit it to resume the latest run",
        ) from None


class ResumePlan:
    """Decides, task by task, whether the new run clones the origin's task.

    Args:
        graph: The flow's current graph.
        store: The flow's datastore.
        origin: The run being resumed.
        from_step: Re-run this step and everything downstream of it (``resume STEP``).

    Raises:
        ResumeError: ``from_step`` is unknown, or the graph changed so that an origin task that
            would be cloned no longer fits it.
    """

    def __init__(
        self, graph: FlowGraph, store: FlowDatastore, origin: RunRecord, from_step: str | None
    ) -> None:
        if from_step is not None and from_step not in graph:
            raise ResumeError(
                f"{graph.name} has no step {from_step!r}." + did_you_mean(from_step, graph.steps),
                hint=f"steps: {', '.join(graph.steps)}",
            )
        self.graph = graph
        self.origin = origin
        self.forced = graph.descendants(from_step) if from_step else set()
        self._by_identity: dict[_Identity, TaskManifest] = {}
        for manifest in store.manifests(origin.run_id):
            if manifest.status == "succeeded" and manifest.step not in self.forced:
                self._by_identity[_identity(manifest.step, manifest)] = manifest
        self._check_fits()

    def _check_fits(self) -> None:
        for manifest in self._by_identity.values():
            node = self.graph.steps.get(manifest.step)
            if node is None:
                continue  # a step that no longer exists is simply never cloned
            if node.kind == "switch":
                fits = len(manifest.next_steps) == 1 and manifest.next_steps[0] in node.out
            elif node.kind == "end":
                fits = not manifest.next_steps
            else:
                fits = manifest.next_steps == node.out and (
                    (manifest.foreach_count is not None) == (node.kind == "foreach")
                )
            if not fits:
                went = ", ".join(manifest.next_steps) or "nowhere"
                now = ", ".join(node.out) or "nowhere (end)"
                raise ResumeError(
                    f"step {node.name!r} changed since run {self.origin.pathspec}: its task "
                    f"{manifest.pathspec} went to {went}, but the step now leads to {now}",
                    hint=f"re-run from that step with: resume {node.name} "
                    f"--origin-run-id {self.origin.run_id}, or start a fresh run",
                    location=node.location,
                )

    def origin_for(self, spec: TaskSpec) -> TaskManifest | None:
        """The origin task to clone for ``spec``, or None when ``spec`` must run."""
        if spec.step in self.forced:
            return None
        origin = self._by_identity.get(_identity(spec.step, spec))
        if origin is None:
            return None
        sources = sorted(p.origin or "" for p in spec.parents)
        if sources != sorted(origin.parents):
            return None  # its inputs were recomputed: it must run again
        return origin

    def clone(self, spec: TaskSpec, origin: TaskManifest, run_id: str) -> TaskManifest:
        """A manifest for ``spec`` in the new run that points at the origin task's blobs."""
        extra = dict(origin.extra)
        # Logs are not copied: the clone names where they live (the first task that wrote them).
        extra.setdefault(
            "log_origin",
            {
                "run_id": origin.run_id,
                "step": origin.step,
                "task_id": origin.task_id,
                "attempt": origin.attempt,
            },
        )
        now = time.time()
        return dataclasses.replace(
            origin,
            run_id=run_id,
            task_id=spec.task_id,
            attempt=0,
            parents=spec.parent_pathspecs,
            started_at=now,
            finished_at=now,
            origin_pathspec=origin.pathspec,
            extra=extra,
        )
