"""Which tasks run next: the DAG walk, independent of how tasks are executed."""

from __future__ import annotations

import sys
from array import array
from collections import deque
from collections.abc import Callable, Iterable

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import ArtifactRef, ForeachFrame, TaskManifest
from flowkit.errors import CorruptObject, FlowRuntimeError
from flowkit.graph.model import FlowGraph
from flowkit.graph.parser import display_path
from flowkit.runtime.spec import ParentRef, TaskSpec
from flowkit.runtime.splits import SplitIndex, read_splits

_Key = tuple[str, tuple[tuple[str, int], ...]]

DEFAULT_MAX_LOOP_ITERATIONS = 1000
# Foreach elements read ahead for forked tasks on remote stores: this many at a time, each at
# most this large (a larger one is left for its task to read).
PRELOAD_BATCH = 64
PRELOAD_MAX_SIZE = 256 << 10


class LoopLimitExceeded(FlowRuntimeError):
    """A loop (a switch going back) went on for more passes than the run allows."""

    headline = "loop limit reached"


class _Passes:
    """Counts the passes of the steps inside loops, per foreach split, and enforces the limit.

    Only steps on a loop are counted (a 100,000-wide foreach outside any loop costs nothing).
    Each pass of such a step is created after the previous one finished, so counting passes as
    they are made numbers them in the order they run, the same in a resume as in the run.
    """

    def __init__(self, graph: FlowGraph, limit: int) -> None:
        self.graph = graph
        self.limit = limit
        self.steps = graph.loop_steps()
        self._counts: dict[tuple[str, tuple[int, ...]], int] = {}

    def next(self, step: str, levels: list[ForeachFrame], came_from: str | None) -> int:
        """The iteration of a new task of ``step`` inside ``levels`` (0 outside loops).

        Raises:
            LoopLimitExceeded: The step has already made ``limit`` passes in this split.
        """
        if step not in self.steps:
            return 0
        key = (step, tuple(level.index for level in levels))
        count = self._counts.get(key, 0)
        if count >= self.limit:
            raise self._too_many(step, levels, came_from)
        self._counts[key] = count + 1
        return count

    def _too_many(
        self, step: str, levels: list[ForeachFrame], came_from: str | None
    ) -> LoopLimitExceeded:
        switch = self.graph.steps.get(came_from or "")
        if switch is None or switch.kind != "switch":
            switch = next((n for n in self.graph if n.loops_to), None)
        where = ""
        if levels:
            where = " in foreach split " + ".".join(str(level.index) for level in levels)
        condition = f" (its condition, self.{switch.switch_var})" if switch else ""
        return LoopLimitExceeded(
            f"step {step!r} made {self.limit} passes{where}, the most a loop may make "
            "(setting max_loop_iterations), and its loop went on; the run is stopped",
            hint=f"make the loop's switch{condition} take its exit branch, or raise the limit, "
            f"e.g. FLOWKIT_MAX_LOOP_ITERATIONS={self.limit * 10} python "
            f"{display_path(self.graph.file)} run",
            location=switch.location if switch else self.graph.location,
        )


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


class FanOut:
    """The splits of one foreach, each made into a :class:`TaskSpec` only when it is reached.

    A 100,000-wide foreach would otherwise hold 100,000 specs in the runner from the start: more
    memory for every later fork to copy. Task ids are reserved up front, so they are the same.
    """

    def __init__(
        self,
        target: str,
        manifest: TaskManifest,
        parent: ParentRef,
        levels: list[ForeachFrame],
        elements: SplitIndex | None,
        first_id: int,
        params: dict[str, ArtifactRef],
        passes: _Passes | None = None,
        store: FlowDatastore | None = None,
    ) -> None:
        self.target = target
        self._store = store  # given when the splits' elements are read ahead (see _make)
        self._passes = passes
        self._manifest = manifest
        self._parents = [parent]
        self._levels = levels
        self._elements = elements
        self._first_id = first_id
        self._params = params
        self._count = int(manifest.foreach_count or 0)
        self._var = manifest.foreach_var or ""
        # Recorded before split indexes: children index the collection themselves.
        items = manifest.artifacts.get(self._var) if elements is None else None
        self._items = items.sha if items is not None else None
        self._next = 0
        self._peeked: TaskSpec | None = None

    def __len__(self) -> int:
        return self._count - self._next

    def peek(self) -> TaskSpec:
        """The next split, without taking it."""
        if self._peeked is None:
            self._peeked = self._make(self._next)
        return self._peeked

    def take(self) -> TaskSpec:
        """The next split."""
        spec = self.peek()
        self._peeked = None
        self._next += 1
        return spec

    def _make(self, i: int) -> TaskSpec:
        element = self._elements[i] if self._elements is not None else None
        if self._store is not None and self._elements is not None and i % PRELOAD_BATCH == 0:
            # Forked tasks find their element in the memory they inherit, read and verified
            # here a batch at a time, instead of each setting up a connection for it.
            window = range(i, min(i + PRELOAD_BATCH, self._count))
            self._store.content.forget_preloaded()
            self._store.content.preload([self._elements[j] for j in window], PRELOAD_MAX_SIZE)
        level = ForeachFrame(self._manifest.step, i, self._count, self._var, element, self._items)
        levels = [*self._levels, level]
        passes = self._passes
        iteration = passes.next(self.target, levels, self._manifest.step) if passes else 0
        return TaskSpec(
            self.target,
            str(self._first_id + i),
            0,
            list(self._parents),
            levels,
            self._params,
            inputs=self._manifest,
            iteration=iteration,
        )


class ReadyQueue:
    """Tasks ready to start, in order; the splits of a foreach are made as they are reached."""

    def __init__(self, items: Iterable[TaskSpec | FanOut] = ()) -> None:
        self._queue: deque[TaskSpec | FanOut] = deque()
        self.extend(items)

    def __bool__(self) -> bool:
        return bool(self._queue)

    def __len__(self) -> int:
        return sum(len(x) if isinstance(x, FanOut) else 1 for x in self._queue)

    def __getitem__(self, index: int) -> TaskSpec:
        if index != 0:
            raise IndexError("only the head of the ready queue can be read")
        head = self._queue[0]
        return head.peek() if isinstance(head, FanOut) else head

    def append(self, spec: TaskSpec) -> None:
        """Add one task at the end."""
        self._queue.append(spec)

    def extend(self, items: Iterable[TaskSpec | FanOut]) -> None:
        """Add tasks (or whole fan-outs) at the end."""
        self._queue.extend(x for x in items if not isinstance(x, FanOut) or len(x))

    def popleft(self) -> TaskSpec:
        """Take the first task."""
        head = self._queue[0]
        if not isinstance(head, FanOut):
            self._queue.popleft()
            return head
        spec = head.take()
        if not len(head):
            self._queue.popleft()
        return spec


class Scheduler:
    """Turns finished tasks into the tasks they enable.

    Joins wait until every branch they close has arrived: one task per branch of a static split,
    or every split of a foreach (keyed by the enclosing foreach indexes, so nested foreach joins
    stay apart).

    Args:
        graph: The flow's graph.
        params: The run's parameter artifacts.
        store: Where a foreach's split index is read from.
        max_loop_iterations: Most passes a step inside a loop makes per foreach split.
    """

    def __init__(
        self,
        graph: FlowGraph,
        params: dict[str, ArtifactRef],
        store: FlowDatastore,
        max_loop_iterations: int = DEFAULT_MAX_LOOP_ITERATIONS,
        preload: Callable[[str], bool] | None = None,
    ) -> None:
        self.graph = graph
        self.params = params
        self.store = store
        # Whether the tasks of a step are forks of this process that would each read their
        # foreach element from a remote store: then the elements are read ahead here.
        self._preload = preload
        self._last_id = 0
        self._waiting: dict[_Key, _Arrivals] = {}
        passes = _Passes(graph, max_loop_iterations)
        self._passes = passes if passes.steps else None

    def _new(
        self,
        step: str,
        parents: list[ParentRef],
        levels: list[ForeachFrame],
        inputs: TaskManifest | None = None,
    ) -> TaskSpec:
        came_from = parents[0].step if parents else None
        iteration = self._passes.next(step, levels, came_from) if self._passes else 0
        self._last_id += 1
        return TaskSpec(
            step,
            str(self._last_id),
            0,
            parents,
            levels,
            self.params,
            inputs=inputs,
            iteration=iteration,
        )

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

    def done(self, manifest: TaskManifest) -> list[TaskSpec | FanOut]:
        """Return the tasks enabled by the successful task ``manifest``.

        The splits of a foreach come as one :class:`FanOut`, which makes them one by one.
        """
        levels = list(manifest.foreach_stack)
        parent = ParentRef.of(manifest)
        specs: list[TaskSpec | FanOut] = []
        for target in manifest.next_steps:
            if manifest.foreach_count is not None:
                specs.append(self._fan_out(target, manifest, parent, levels))
            elif self.graph[target].is_join:
                specs.extend(self._arrive(target, manifest, levels))
            else:
                specs.append(self._new(target, [parent], levels, manifest))
        return specs

    def _fan_out(
        self, target: str, manifest: TaskManifest, parent: ParentRef, levels: list[ForeachFrame]
    ) -> FanOut:
        n = int(manifest.foreach_count or 0)
        elements = None
        if manifest.foreach_splits is not None:
            # Each child gets its own element's blob, as the parent fixed them: read once here.
            elements = read_splits(self.store, manifest.foreach_splits)
            if len(elements) != n:
                raise CorruptObject(
                    f"the split index of {manifest.pathspec} names {len(elements)} elements, "
                    f"but the task fanned out over {n}"
                )
        first_id = self._last_id + 1
        self._last_id += n  # ids are taken now, so the splits are numbered as they are ordered
        preload = elements is not None and self._preload is not None and self._preload(target)
        return FanOut(
            target,
            manifest,
            parent,
            levels,
            elements,
            first_id,
            self.params,
            self._passes,
            self.store if preload else None,
        )

    def _arrive(
        self, join: str, manifest: TaskManifest, levels: list[ForeachFrame]
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
