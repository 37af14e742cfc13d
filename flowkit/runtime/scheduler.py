"""Which tasks run next: the DAG walk, independent of how tasks are executed."""

from __future__ import annotations

import sys
from array import array

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import ArtifactRef, TaskManifest
from flowkit.dsl.state import ForeachLevel
from flowkit.graph.model import FlowGraph
from flowkit.runtime.spec import ParentRef, TaskSpec, levels_from_manifest
from flowkit.runtime.splits import read_splits

_Key = tuple[str, tuple[tuple[str, int], ...]]


class _Arrivals:
    """The branches of one join that have finished, kept as compact identities.

    The runner holds these until the last branch arrives; for a 100,000-way foreach that is
    100,000 entries, so each is a few bytes in arrays (task id, attempt, step), not a manifest.
    """

    def __init__(self, flow: str, run_id: str, expected: int) -> None:
        self.flow = flow
        self.run_id = run_id
        self.expected = expected
        self.count = 0
        self._task_ids = array("q", [-1]) * expected
        self._attempts = array("l", [0]) * expected
        self._steps: list[str] = [""] * expected
        self._odd: dict[int, ParentRef] = {}  # clones, other runs, non-numeric task ids

    def add(self, slot: int, manifest: TaskManifest) -> None:
        if self._task_ids[slot] != -1 or slot in self._odd:
            return  # already arrived (a duplicate report): count it once
        self.count += 1
        ref = ParentRef.of(manifest)
        if ref.origin is None and ref.run_id == self.run_id and manifest.task_id.isdigit():
            self._task_ids[slot] = int(manifest.task_id)
            self._attempts[slot] = manifest.attempt
            self._steps[slot] = sys.intern(manifest.step)
        else:
            self._odd[slot] = ref

    def parents(self) -> list[ParentRef]:
        out = []
        for slot in range(self.expected):
            odd = self._odd.get(slot)
            if odd is not None:
                out.append(odd)
                continue
            task_id = str(self._task_ids[slot])
            attempt = self._attempts[slot]
            out.append(ParentRef(self.flow, self.run_id, self._steps[slot], task_id, attempt))
        return out


class Scheduler:
    """Turns finished tasks into the tasks they enable.

    Joins wait until every branch they close has arrived: one task per branch of a static split,
    or every split of a foreach (keyed by the enclosing foreach indexes, so nested foreach joins
    stay apart).

    Args:
        graph: The flow's graph.
        params: The run's parameter artifacts.
        store: Where a foreach's split index is read from.
    """

    def __init__(
        self, graph: FlowGraph, params: dict[str, ArtifactRef], store: FlowDatastore
    ) -> None:
        self.graph = graph
        self.params = params
        self.store = store
        self._last_id = 0
        self._waiting: dict[_Key, _Arrivals] = {}

    def _new(
        self,
        step: str,
        parents: list[ParentRef],
        levels: list[ForeachLevel],
        inputs: TaskManifest | None = None,
    ) -> TaskSpec:
        self._last_id += 1
        return TaskSpec(step, str(self._last_id), 0, parents, levels, self.params, inputs=inputs)

    def start(self) -> list[TaskSpec]:
        """The first task of the run."""
        return [self._new("start", [], [])]

    @property
    def waiting_joins(self) -> int:
        """Joins still waiting for branches (non-zero at the end means a branch failed)."""
        return len(self._waiting)

    def reserve_ids(self, last_id: int) -> None:
        """Continue numbering tasks after ``last_id`` (used when tasks are cloned)."""
        self._last_id = max(self._last_id, last_id)

    def done(self, manifest: TaskManifest) -> list[TaskSpec]:
        """Return the tasks enabled by the successful task ``manifest``."""
        levels = levels_from_manifest(manifest)
        parent = ParentRef.of(manifest)
        specs: list[TaskSpec] = []
        for target in manifest.next_steps:
            if manifest.foreach_count is not None:
                specs.extend(self._fan_out(target, manifest, parent, levels))
            elif self.graph[target].is_join:
                specs.extend(self._arrive(target, manifest, levels))
            else:
                specs.append(self._new(target, [parent], levels, manifest))
        return specs

    def _fan_out(
        self, target: str, manifest: TaskManifest, parent: ParentRef, levels: list[ForeachLevel]
    ) -> list[TaskSpec]:
        var = str(manifest.extra.get("foreach_var"))
        n = int(manifest.foreach_count or 0)
        if manifest.foreach_splits is not None:
            # Each child gets its own element's blob, as the parent fixed them: read once here.
            elements: list[str | None] = list(read_splits(self.store, manifest.foreach_splits))
            items = None
        else:  # recorded before split indexes: children index the collection themselves
            elements = [None] * n
            items = manifest.artifacts.get(var)
        step = manifest.step
        return [
            self._new(
                target,
                [parent],
                [*levels, ForeachLevel(step, i, n, var, items, element)],
                manifest,
            )
            for i, element in enumerate(elements)
        ]

    def _arrive(
        self, join: str, manifest: TaskManifest, levels: list[ForeachLevel]
    ) -> list[TaskSpec]:
        node = self.graph[join]
        split = self.graph[str(node.closes)]
        if split.kind == "foreach":
            outer = levels[:-1]
            slot, expected = levels[-1].index, levels[-1].num_splits
        else:
            outer = levels
            slot, expected = node.branch_of_parent[manifest.step], len(split.out)
        key: _Key = (join, tuple((lv.step, lv.index) for lv in outer))
        arrived = self._waiting.get(key)
        if arrived is None:
            arrived = self._waiting[key] = _Arrivals(manifest.flow, manifest.run_id, expected)
        arrived.add(slot, manifest)
        if arrived.count < expected:
            return []
        del self._waiting[key]
        return [self._new(join, arrived.parents(), outer)]
