"""Which tasks run next: the DAG walk, independent of how tasks are executed."""

from __future__ import annotations

from flowkit.datastore.manifest import ArtifactRef, TaskManifest
from flowkit.dsl.state import ForeachLevel
from flowkit.graph.model import FlowGraph
from flowkit.runtime.spec import TaskSpec, levels_from_manifest

_Key = tuple[str, tuple[tuple[str, int], ...]]


class Scheduler:
    """Turns finished tasks into the tasks they enable.

    Joins wait until every branch they close has arrived: one task per branch of a static split,
    or every split of a foreach (keyed by the enclosing foreach indexes, so nested foreach joins
    stay apart).
    """

    def __init__(self, graph: FlowGraph, params: dict[str, ArtifactRef]) -> None:
        self.graph = graph
        self.params = params
        self._last_id = 0
        self._waiting: dict[_Key, dict[int, TaskManifest]] = {}

    def _new(self, step: str, parents: list[TaskManifest], levels: list[ForeachLevel]) -> TaskSpec:
        self._last_id += 1
        return TaskSpec(step, str(self._last_id), 0, parents, levels, self.params)

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
        specs: list[TaskSpec] = []
        for target in manifest.next_steps:
            if manifest.foreach_count is not None:
                var = str(manifest.extra.get("foreach_var"))
                items = manifest.artifacts.get(var)
                n = manifest.foreach_count
                specs.extend(
                    self._new(
                        target, [manifest], [*levels, ForeachLevel(manifest.step, i, n, var, items)]
                    )
                    for i in range(n)
                )
            elif self.graph[target].is_join:
                specs.extend(self._arrive(target, manifest, levels))
            else:
                specs.append(self._new(target, [manifest], levels))
        return specs

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
        arrived = self._waiting.setdefault(key, {})
        arrived[slot] = manifest
        if len(arrived) < expected:
            return []
        del self._waiting[key]
        return [self._new(join, [arrived[i] for i in sorted(arrived)], outer)]
