"""The flow graph: steps and the transitions between them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

StepKind = Literal["linear", "split", "foreach", "switch", "end"]


@dataclass
class StepNode:
    """One step of the flow as written in its source.

    Attributes:
        name: The method name.
        file: Source file of the method.
        line: Line of the ``def``.
        doc: The docstring ('' when absent).
        is_join: The method takes ``inputs`` (a join step).
        kind: How the step continues: linear, static split, foreach, switch, or end (no next).
        out: Names of the steps ``next`` names, in order.
        foreach_var: For a foreach, the artifact fanned out over.
        num_parallel: For ``self.next(self.x, num_parallel=N)``, the source text of ``N``; such
            a step has kind ``foreach`` (a gang is a fan-out that a join closes).
        switch_var: For a switch, the artifact whose value picks the branch.
        switch_cases: For a switch, branch key -> step name.
        next_line: Line of the ``self.next`` call (or of the def when there is none).
        decorators: Names of the decorators above the def, top first.
        parents: Steps whose ``next`` names this step (filled by the parser).
        split_stack: Enclosing splits as (split step, branch) pairs (filled by the checks).
        closes: For a join, the split step whose branches it joins (filled by the checks).
        branch_of_parent: For a join of a static split, parent step -> branch position.
        loops_to: For a switch, the branches that go back to an earlier step or to the switch
            itself: the edges that close a loop (filled by the checks).
    """

    name: str
    file: str
    line: int
    doc: str = ""
    is_join: bool = False
    kind: StepKind = "linear"
    out: list[str] = field(default_factory=list)
    foreach_var: str | None = None
    num_parallel: str | None = None
    switch_var: str | None = None
    switch_cases: dict[str, str] = field(default_factory=dict)
    next_line: int = 0
    decorators: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    split_stack: list[tuple[str, str]] = field(default_factory=list)
    closes: str | None = None
    branch_of_parent: dict[str, int] = field(default_factory=dict)
    loops_to: list[str] = field(default_factory=list)

    @property
    def location(self) -> str:
        """``file:line`` of the step's definition."""
        return f"{self.file}:{self.line}"

    @property
    def forward_out(self) -> list[str]:
        """The steps ``next`` names, without the branches that loop back."""
        return [n for n in self.out if n not in self.loops_to]

    @property
    def is_split(self) -> bool:
        """True when the step opens a fan-out that a join must close (static split, foreach)."""
        return self.kind in ("split", "foreach")


@dataclass
class FlowGraph:
    """The steps of a flow, by name, in source order.

    Attributes:
        name: The flow class's name.
        file: Source file of the flow class.
        steps: The steps by name.
        doc: The flow's docstring.
        plain_methods: Methods of the flow that are not steps (for "add @step" hints).
        line: Line of the ``class`` statement (0 when unknown).
    """

    name: str
    file: str
    steps: dict[str, StepNode]
    doc: str = ""
    plain_methods: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def location(self) -> str:
        """``file:line`` of the flow class (just the file when the line is unknown)."""
        return f"{self.file}:{self.line}" if self.line else self.file

    def __getitem__(self, name: str) -> StepNode:
        return self.steps[name]

    def __iter__(self) -> Iterator[StepNode]:
        return iter(self.steps.values())

    def __contains__(self, name: object) -> bool:
        return name in self.steps

    def topological(self) -> list[StepNode]:
        """Steps in an order where every step comes after all its parents (start first).

        A switch's branches that loop back (``loops_to``) are not ordering edges.
        """
        indegree = {n: 0 for n in self.steps}
        for node in self.steps.values():
            for child in node.forward_out:
                if child in indegree:
                    indegree[child] += 1
        ready = [n for n in self.steps if indegree[n] == 0]
        ordered: list[StepNode] = []
        while ready:
            name = ready.pop(0)
            ordered.append(self.steps[name])
            for child in self.steps[name].forward_out:
                if child in indegree:
                    indegree[child] -= 1
                    if indegree[child] == 0:
                        ready.append(child)
        return ordered

    def descendants(self, name: str) -> set[str]:
        """Every step reachable from ``name``, including itself."""
        return self._reach(name, lambda node: node.out)

    def loop_steps(self) -> set[str]:
        """Steps that may run more than once in a run: those on a loop closed by a switch.

        Only meaningful once the checks have filled ``loops_to``.
        """
        found: set[str] = set()
        for node in self.steps.values():
            for head in node.loops_to:
                found |= self.loop_body(node.name, head)
        return found

    def loop_body(self, switch: str, head: str) -> set[str]:
        """The steps of the loop that ``switch`` closes by going back to ``head``: those reachable
        from ``head`` that reach ``switch``, going forward."""
        forward = self._reach(head, lambda node: node.forward_out)
        # back along the parents, not through the loop's own back edges
        back = self._reach(
            switch,
            lambda node: [p for p in node.parents if node.name not in self.steps[p].loops_to],
        )
        return forward & back

    def _reach(self, name: str, edges: Callable[[StepNode], Iterable[str]]) -> set[str]:
        """The steps reachable from ``name`` (itself included) along ``edges``."""
        seen: set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            if current not in seen and current in self.steps:
                seen.add(current)
                todo.extend(edges(self.steps[current]))
        return seen
