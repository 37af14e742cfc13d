"""What a flow instance needs to know while one task runs.

The runtime builds a :class:`TaskState` and attaches it to the flow instance. References to stored
artifacts are opaque here (the runtime decides what they are); the only requirement is that two
references to identical data compare equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from flowkit.errors import FlowRuntimeError


class ForeachLevel(Protocol):
    """One level of foreach nesting: which split this task is, and where its input lives.

    The runtime passes the datastore's ``ForeachFrame`` (the one foreach type of flowkit); this
    layer sits below the datastore, so it names only the attributes it reads.

    Attributes:
        step: The step that fanned out.
        index: This split's position.
        num_splits: How many splits the foreach produced.
        var: The artifact fanned out over.
        element: This split's own element, as fixed by the parent (opaque reference).
        items: The whole collection, for runs recorded before ``element`` existed.
    """

    @property
    def step(self) -> str: ...
    @property
    def index(self) -> int: ...
    @property
    def num_splits(self) -> int: ...
    @property
    def var(self) -> str: ...
    @property
    def element(self) -> Any: ...
    @property
    def items(self) -> Any: ...


#: The ``var`` of the foreach frame of a task in a ``@parallel`` gang. No artifact can have it
#: (names starting with ``_`` are never stored), so it cannot be mistaken for a real foreach.
PARALLEL_VAR = "_parallel"


@dataclass
class Transition:
    """What ``self.next(...)`` decided: the steps to run next.

    ``num_parallel`` is set (and equals ``num_splits``) for ``self.next(self.step,
    num_parallel=N)``, which starts a gang of N tasks of a ``@parallel`` step.
    """

    targets: list[str]
    foreach: str | None = None
    num_splits: int | None = None
    condition: str | None = None
    num_parallel: int | None = None
    location: str = ""  # file:line of the self.next call, for "called twice" errors


def item_at(items: Any, index: int) -> Any:
    """Return element ``index`` of a foreach sequence (list, array, DataFrame rows, set...).

    Only used for runs recorded before the parent fixed each split's element: iterating a set
    again in another interpreter may give another order.
    """
    if hasattr(items, "iloc"):
        return items.iloc[index]
    if isinstance(items, Mapping) or not hasattr(items, "__getitem__"):
        return list(items)[index]
    return items[index]


_INPUT = "\0input"  # cache key no artifact name can clash with


@dataclass
class TaskState:
    """Where a flow instance's artifacts come from, and what its step decided.

    Attributes:
        flow_name: Name of the flow.
        step_name: Step being executed (or, for a branch view in a join, the branch's step).
        refs: Inherited artifacts by name, as opaque references, loaded on first access.
        loader: Turns a reference into a value.
        param_names: Names of the flow's parameters (read-only artifacts).
        foreach: The foreach levels enclosing this task, outermost first.
        read_only: True for the branch views a join step gets in ``inputs``.
        is_join: True when the step is a join (``merge_artifacts`` is allowed).
    """

    flow_name: str
    step_name: str
    refs: dict[str, Any]
    loader: Callable[[Any], Any]
    param_names: frozenset[str] = frozenset()
    foreach: list[ForeachLevel] = field(default_factory=list)
    read_only: bool = False
    is_join: bool = False
    transition: Transition | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    def load(self, name: str) -> Any:
        """Load (once) the inherited artifact ``name``.

        Raises:
            KeyError: No such artifact.
        """
        if name in self._cache:
            return self._cache[name]
        value = self.loader(self.refs[name])
        self._cache[name] = value
        return value

    def foreach_input(self) -> Any:
        """The element of the innermost foreach this task works on (loaded once)."""
        return self.foreach_value(len(self.foreach) - 1) if self.foreach else None

    def foreach_value(self, depth: int) -> Any:
        """The element the task works on at foreach level ``depth`` (0 outermost; loaded once)."""
        key = f"{_INPUT}{depth}"
        if key in self._cache:
            return self._cache[key]
        level = self.foreach[depth]
        if level.var == PARALLEL_VAR:  # a gang node's input is its node index
            return level.index
        if level.element is not None:
            value = self.loader(level.element)  # only this split's element, never the whole
            self._cache[key] = value
            return value
        items = self.loader(level.items) if level.items is not None else self.load(level.var)
        return item_at(items, level.index)

    def require_writable(self, name: str) -> None:
        """Refuse assignments on the read-only branch views of a join."""
        if self.read_only:
            raise FlowRuntimeError(
                f"cannot set {name!r} on inputs.{self.step_name}: branch inputs are read-only",
                hint=f"set it on self instead: self.{name} = ...",
            )
