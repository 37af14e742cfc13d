"""Resuming a run: which tasks of the origin run can be cloned instead of run again.

A task of the new run is cloned when the origin run has a successful task with the same identity
(step, foreach indexes and, for a step inside a loop, which pass it is), its step is not forced
to re-run, every artifact blob it refers to is still stored (``flowkit verify --repair`` and
reads that find a corrupt blob move it aside, and a resume then recomputes it), its manifest is
readable, and it would receive exactly the inputs the origin task received (its parents are
clones of the origin task's parents). Cloning copies the manifest only: the artifacts are the
same blobs, nothing is re-serialized and no process is started.

When the origin run has no task at all for an identity (it was itself a resume that died before
getting there), the origin's own origin is asked, and so on up the chain: resuming a resume that
was killed before it committed anything still clones what the first run had. Steps a run of the
chain was told to re-run (``resume STEP``) are never taken from the runs before it.
"""

from __future__ import annotations

import dataclasses
import time

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import LogOrigin, RunRecord, TaskManifest
from flowkit.dsl.state import PARALLEL_VAR
from flowkit.errors import CorruptRecord, FlowkitError, RunNotFound, did_you_mean
from flowkit.graph.model import FlowGraph
from flowkit.runtime.progress import warn
from flowkit.runtime.spec import TaskSpec

_Identity = tuple[str, tuple[int, ...], int]


class ResumeError(FlowkitError):
    """The run cannot be resumed as asked."""

    exit_code = 2
    headline = "cannot resume"


def _identity(step: str, manifest_or_spec: TaskManifest | TaskSpec) -> _Identity:
    if isinstance(manifest_or_spec, TaskSpec):
        indexes = tuple(level.index for level in manifest_or_spec.foreach)
    else:
        indexes = tuple(frame.index for frame in manifest_or_spec.foreach_stack)
    return step, indexes, manifest_or_spec.iteration


def find_origin(store: FlowDatastore, flow_name: str, wanted: str | None) -> RunRecord:
    """The run to resume: ``wanted`` (``12`` or ``Flow/12``) or the flow's latest run.

    Raises:
        ResumeError: No run to resume, or the id names another flow or no run at all.
    """
    if wanted is None:
        return _latest_readable(store, flow_name)
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


def _latest_readable(store: FlowDatastore, flow_name: str) -> RunRecord:
    """The newest run whose record can be read; damaged ones are named and skipped."""
    latest = store.latest_run_id()
    if latest is None:
        raise ResumeError(
            f"there is no earlier run of {flow_name} to resume in {store.storage.root}",
            hint="start one with: python <flow file> run",
        )
    skipped: list[CorruptRecord] = []
    for number in range(int(latest), 0, -1):
        try:
            record = store.run_record(str(number))
        except RunNotFound:
            continue
        except CorruptRecord as exc:
            skipped.append(exc)
            continue
        for error in skipped:
            warn(f"flowkit: skipping an unreadable run: {error.message}")
        return record
    raise ResumeError(
        f"no run of {flow_name} can be resumed: the record of every run is unreadable "
        f"(the latest: {skipped[0].message})"
        if skipped
        else f"there is no earlier run of {flow_name} to resume in {store.storage.root}",
        hint=f"flowkit verify {flow_name} lists the damaged records; start a fresh run with: "
        "python <flow file> run",
    )


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
        self.from_step = from_step
        self.forced = graph.descendants(from_step) if from_step else set()
        self._by_identity: dict[_Identity, TaskManifest] = {}
        # Clone pathspec -> the pathspec it was cloned from, over the whole chain: two tasks
        # that trace back to one producer hold the same artifacts.
        self._cloned_from: dict[str, str] = {}
        # A task whose manifest is damaged is simply not cloned: it runs again.
        own, _damaged = store.read_manifests(origin.run_id)
        for manifest in own:
            self._note_clone(manifest)
        for manifest in _clonable(store, own, self.forced):
            self._by_identity[_identity(manifest.step, manifest)] = manifest
        self._check_fits()
        self._follow_chain(store, origin, {_identity(m.step, m) for m in own})
        self._keep_whole_gangs()

    def _keep_whole_gangs(self) -> None:
        """Clone a ``@parallel`` gang only when all its tasks succeeded in one run.

        A gang whose node failed runs again as a whole: its nodes start together and find each
        other, which a lone re-run node next to cloned peers could not.
        """
        gangs: dict[_Identity, list[TaskManifest]] = {}
        for manifest in self._by_identity.values():
            stack = manifest.foreach_stack
            if stack and stack[-1].var == PARALLEL_VAR:
                # one gang per step, enclosing splits and loop pass
                outer = (manifest.step, tuple(f.index for f in stack[:-1]), manifest.iteration)
                gangs.setdefault(outer, []).append(manifest)
        for members in gangs.values():
            size = members[0].foreach_stack[-1].num_splits
            if len(members) != size or len({m.run_id for m in members}) != 1:
                for manifest in members:
                    del self._by_identity[_identity(manifest.step, manifest)]

    def _note_clone(self, manifest: TaskManifest) -> None:
        if manifest.origin_pathspec:
            self._cloned_from[manifest.pathspec] = manifest.origin_pathspec

    def _follow_chain(self, store: FlowDatastore, origin: RunRecord, seen: set[_Identity]) -> None:
        """Add tasks of the origin's own origins for identities the origin has no task for."""
        excluded = set(self.forced)
        visited = {origin.run_id}
        newer = origin
        while newer.origin_run_id and newer.status != "succeeded":
            if newer.resume_step in self.graph:
                excluded |= self.graph.descendants(str(newer.resume_step))
            if newer.origin_run_id in visited:
                return  # a hand-made cycle: stop rather than loop
            try:
                older = store.run_record(newer.origin_run_id)
            except RunNotFound:
                return
            visited.add(older.run_id)
            found, _damaged = store.read_manifests(older.run_id)
            for manifest in found:
                self._note_clone(manifest)
            fresh = []
            for manifest in found:
                identity = _identity(manifest.step, manifest)
                if identity not in seen:
                    seen.add(identity)
                    fresh.append(manifest)
            for manifest in _clonable(store, fresh, excluded):
                if self._fits(manifest) is None:
                    self._by_identity[_identity(manifest.step, manifest)] = manifest
            newer = older

    def _source(self, pathspec: str) -> str:
        """The task that first produced what ``pathspec`` holds (itself unless it is a clone)."""
        hops = 0
        while pathspec in self._cloned_from and hops < 10_000:
            pathspec, hops = self._cloned_from[pathspec], hops + 1
        return pathspec

    def _check_fits(self) -> None:
        for manifest in self._by_identity.values():
            misfit = self._fits(manifest)
            if misfit is not None:
                raise misfit

    def _fits(self, manifest: TaskManifest) -> ResumeError | None:
        """``None`` when ``manifest`` fits the current graph, else the error that says why."""
        node = self.graph.steps.get(manifest.step)
        if node is None:
            return None  # a step that no longer exists is simply never cloned
        if node.kind == "switch":
            fits = len(manifest.next_steps) == 1 and manifest.next_steps[0] in node.out
        elif node.kind == "end":
            fits = not manifest.next_steps
        else:
            fits = manifest.next_steps == node.out and (
                (manifest.foreach_count is not None) == (node.kind == "foreach")
            )
        if fits:
            return None
        went = ", ".join(manifest.next_steps) or "nowhere"
        now = ", ".join(node.out) or "nowhere (end)"
        return ResumeError(
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
        sources = sorted(self._source(p.origin or "") for p in spec.parents)
        if sources != sorted(self._source(p) for p in origin.parents):
            return None  # its inputs were recomputed: it must run again
        return origin

    def clone(self, spec: TaskSpec, origin: TaskManifest, run_id: str) -> TaskManifest:
        """A manifest for ``spec`` in the new run that points at the origin task's blobs."""
        # Logs are not copied: the clone names where they live (the first task that wrote them).
        log_origin = origin.log_origin or LogOrigin(
            origin.run_id, origin.step, origin.task_id, origin.attempt
        )
        now = time.time()
        return dataclasses.replace(
            origin,
            run_id=run_id,
            task_id=spec.task_id,
            attempt=0,
            iteration=spec.iteration,
            parents=spec.parent_pathspecs,
            started_at=now,
            finished_at=now,
            origin_pathspec=origin.pathspec,
            log_origin=log_origin,
        )


def _clonable(
    store: FlowDatastore, manifests: list[TaskManifest], excluded: set[str]
) -> list[TaskManifest]:
    """The succeeded tasks outside ``excluded`` steps whose artifact blobs are all still stored.

    One batched existence check for every blob (a listing per blob folder on S3), so a resume of
    thousands of tasks does not pay a request per artifact.
    """
    candidates = [m for m in manifests if m.status == "succeeded" and m.step not in excluded]
    stored = store.content.exists_many(
        {ref.sha for m in candidates for ref in m.artifacts.values()}
    )
    return [m for m in candidates if all(r.sha in stored for r in m.artifacts.values())]
