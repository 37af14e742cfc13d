"""``FlowSpec``: the base class of every flow."""

from __future__ import annotations

import ast
import inspect
import linecache
import numbers
import os
import sys
from collections.abc import Iterable, Sized
from typing import Any

from flowkit.dsl.inputs import Inputs
from flowkit.dsl.state import TaskState, Transition
from flowkit.dsl.step import is_step
from flowkit.errors import FlowRuntimeError, MergeConflict, did_you_mean
from flowkit.flow_main import run_flow_main
from flowkit.own_code import is_own_file

#: Names a step or artifact cannot take: they are part of the flow's own interface.
RESERVED_NAMES = frozenset(
    {
        "next",
        "input",
        "index",
        "merge_artifacts",
        "foreach_stack",
        "name",
        "inputs",
        "script_name",
        "catalog",
    }
)


def _caller_location() -> str:
    """``file:line`` of the innermost frame outside flowkit: the user's line that called us."""
    frame = sys._getframe(1)
    while frame is not None and is_own_file(frame.f_code.co_filename):
        frame = frame.f_back  # type: ignore[assignment]
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else ""


def flow_source_file(flow_cls: type) -> str | None:
    """The file that defines ``flow_cls``, even when ``__main__`` is a tool running the file.

    Under ``python -m cProfile flow.py`` (or ``-m pdb``, ``-m trace``) the flow class's module
    is ``__main__`` while ``__main__.__file__`` is the tool's, so ``inspect`` looks in the wrong
    file. The code objects of the class's own functions know where they were compiled.

    Returns:
        An absolute path, or ``None`` when the class has no source file (typed at a prompt).
    """
    for value in vars(flow_cls).values():
        func = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
        try:
            code = getattr(inspect.unwrap(func), "__code__", None)
        except ValueError:  # a wrapper chain that loops
            code = None
        if code is None or code.co_filename.startswith("<") or is_own_file(code.co_filename):
            continue
        # IPython compiles each notebook cell under a file name of its own and registers the
        # cell's text with linecache, without writing the file: that text is the source
        if os.path.isfile(code.co_filename) or linecache.getlines(code.co_filename):
            return os.path.abspath(code.co_filename)
    # a tool running the file keeps it as argv[0]
    main_script = sys.argv[0] if sys.argv else ""
    if (
        flow_cls.__module__ == "__main__"
        and main_script.endswith(".py")
        and os.path.isfile(main_script)
    ):
        return os.path.abspath(main_script)
    try:
        found = inspect.getsourcefile(flow_cls)
    except TypeError:  # a built-in or a class without a module file
        return None
    return os.path.abspath(found) if found else None


def flow_class_source(klass: type) -> tuple[list[str], int, str] | None:
    """The source lines of the class statement of ``klass``, its first line and its file.

    Unlike ``inspect.getsourcelines`` this reads the file :func:`flow_source_file` found, so it
    works when ``__main__`` is a profiler or debugger that runs the flow file.

    Returns:
        ``(lines, first_line, file)`` with a 1-based ``first_line``, or ``None`` without source.
    """
    file = flow_source_file(klass)
    if file is None:
        return None
    lines = linecache.getlines(file)
    try:
        tree = ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        return None
    # a method's first line tells which of several same-named classes is this one
    anchor = next(
        (
            v.__code__.co_firstlineno
            for v in vars(klass).values()
            if getattr(getattr(v, "__code__", None), "co_filename", None) == file
        ),
        None,
    )
    candidates = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.name == klass.__name__
    ]
    if anchor is not None:
        candidates = [
            c for c in candidates if c.lineno <= anchor <= (c.end_lineno or c.lineno)
        ] or candidates
    if not candidates:
        return None
    node = candidates[-1]
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return lines[first - 1 : node.end_lineno or node.lineno], first, file


class FlowSpec:
    """Base class of a flow: subclass it and define ``@step`` methods ``start`` ... ``end``.

    The flow file ends with ``if __name__ == "__main__": MyFlow()``, which starts the command line
    (``python myflow.py run``). Attributes set on ``self`` inside a step are artifacts: they are
    stored and flow to the following steps.
    """

    def __init__(self, use_cli: bool = True) -> None:
        if use_cli:
            # Constructing a flow in __main__ hands over to the command line, as flow files
            # expect; the CLI is plugged in from above (flowkit.flow_main), never imported here.
            run_flow_main(type(self))

    # -- artifacts -----------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: that is, for artifacts not loaded yet.
        if name.startswith("_"):
            raise AttributeError(name)
        state: TaskState | None = self.__dict__.get("_fk_state")
        if state is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        if name in state.refs:
            value = state.load(name)
            if not state.read_only:
                object.__setattr__(self, name, value)  # re-stored at the end: catches mutation
            return value
        known = sorted(set(state.refs) | {k for k in self.__dict__ if not k.startswith("_")})
        raise AttributeError(
            f"step {state.step_name!r} has no artifact {name!r}."
            + did_you_mean(name, known)
            + (f" Available: {', '.join(known)}." if known else " No artifacts are set yet.")
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_"):
            state: TaskState | None = self.__dict__.get("_fk_state")
            if state is not None:
                state.require_writable(name)
            if name in RESERVED_NAMES:
                raise FlowRuntimeError(
                    f"{name!r} is reserved by flowkit and cannot be used as an artifact name",
                    hint=f"rename it, e.g. self.{name}_value = ...",
                    location=_caller_location(),
                )
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        state: TaskState | None = self.__dict__.get("_fk_state")
        if state is not None and not name.startswith("_"):
            state.require_writable(name)
            if name in state.refs and name not in state.param_names:
                del state.refs[name]
                self.__dict__.pop(name, None)
                return
        object.__delattr__(self, name)

    # -- data catalog --------------------------------------------------------------------------
    @property
    def catalog(self) -> Any:
        """The data catalog of the running task: ``self.catalog.load("orders")``.

        The runtime binds it (a :class:`flowkit.catalog.TaskCatalog`) before the step runs;
        the flow language itself knows nothing of where data lives.

        Raises:
            FlowRuntimeError: Used outside a running step.
        """
        catalog = self.__dict__.get("_fk_catalog")
        if catalog is None:
            raise FlowRuntimeError(
                "self.catalog is available only inside a step that flowkit runs",
                hint="use it in a step and run the flow (python flow.py run)",
            )
        return catalog

    # -- foreach -------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The flow's name (its class name)."""
        return type(self).__name__

    @property
    def index(self) -> int | None:
        """Index of this task in the innermost foreach, or ``None`` outside a foreach."""
        state = self.__dict__.get("_fk_state")
        return state.foreach[-1].index if state and state.foreach else None

    @property
    def input(self) -> Any:
        """Element of the innermost foreach this task works on, or ``None`` outside a foreach."""
        state = self.__dict__.get("_fk_state")
        return state.foreach_input() if state else None

    def foreach_stack(self) -> list[tuple[int, int, Any]]:
        """The enclosing foreach levels, outermost first, as ``(index, num_splits, value)``.

        ``value`` is the element the task works on at that level, as in Metaflow (each level's
        element is loaded on first use).
        """
        state = self.__dict__.get("_fk_state")
        if not state:
            return []
        levels = enumerate(state.foreach)
        return [(f.index, f.num_splits, state.foreach_value(d)) for d, f in levels]

    # -- transitions ---------------------------------------------------------------------------
    def next(
        self,
        *targets: Any,
        foreach: str | None = None,
        condition: str | None = None,
        num_parallel: int | None = None,
    ) -> None:
        """Say which step(s) run after this one.

        Args:
            *targets: One step (``self.train``), several for a static split, or a single dict
                ``{value: self.step}`` for a conditional switch.
            foreach: Name of an artifact holding a sequence: run the target once per element.
            condition: For a switch, the name of the artifact whose value picks the branch.
            num_parallel: Start the ``@parallel`` target as a gang of this many tasks, all
                running at the same time (see ``current.parallel``).

        Raises:
            FlowRuntimeError: ``next`` was called twice, a target is not a step, the foreach
                artifact is missing, empty or not a sequence, the switch value has no branch,
                or ``num_parallel`` is not a positive whole number.
        """
        state: TaskState = self.__dict__["_fk_state"]
        called_at = _caller_location()
        try:
            if num_parallel is not None:
                transition = self._gang(state, targets, foreach, condition, num_parallel)
            else:
                transition = self._transition(state, targets, foreach, condition)
        except FlowRuntimeError as exc:
            exc.location = exc.location or called_at
            raise
        transition.location = called_at
        state.transition = transition

    def _transition(
        self, state: TaskState, targets: tuple[Any, ...], foreach: str | None, condition: str | None
    ) -> Transition:
        where = f"step {state.step_name!r}"
        if state.transition is not None:
            first = state.transition.location
            raise FlowRuntimeError(
                f"self.next was called twice in {where}"
                + (f" (first at {first})" if first else ""),
                hint="call self.next exactly once, as the last statement of the step "
                "(calls from helper methods count too)",
            )
        if len(targets) == 1 and isinstance(targets[0], dict):
            return self._switch(targets[0], condition, where)
        if condition is not None:
            raise FlowRuntimeError(
                f"{where} passes condition= without a dict of branches",
                hint='write self.next({"a": self.a, "b": self.b}, condition="choice")',
            )
        if not targets:
            raise FlowRuntimeError(f"self.next() in {where} names no step", hint="pass a step")
        names = [self._target_name(t, where) for t in targets]
        if foreach is None:
            return Transition(names)
        if len(names) != 1:
            raise FlowRuntimeError(
                f"{where} uses foreach with {len(names)} targets", hint="foreach takes one target"
            )
        return Transition(names, foreach=foreach, num_splits=self._count(foreach, where))

    def _gang(
        self,
        state: TaskState,
        targets: tuple[Any, ...],
        foreach: str | None,
        condition: str | None,
        num_parallel: Any,
    ) -> Transition:
        where = f"step {state.step_name!r}"
        if foreach is not None or condition is not None:
            raise FlowRuntimeError(
                f"{where} passes num_parallel= together with foreach= or condition=",
                hint="num_parallel starts one gang: self.next(self.train, num_parallel=4)",
            )
        transition = self._transition(state, targets, None, None)
        if len(transition.targets) != 1:
            raise FlowRuntimeError(
                f"{where} uses num_parallel with {len(transition.targets)} targets",
                hint="num_parallel takes one @parallel target",
            )
        if (
            isinstance(num_parallel, bool)
            or not isinstance(num_parallel, numbers.Integral)
            or num_parallel < 1
        ):
            raise FlowRuntimeError(
                f"{where}: num_parallel={num_parallel!r} must be a whole number >= 1",
                hint="e.g. self.next(self.train, num_parallel=4)",
            )
        transition.num_splits = transition.num_parallel = int(num_parallel)
        return transition

    def _target_name(self, target: Any, where: str) -> str:
        func = getattr(target, "__func__", None)
        if func is None or not is_step(func) or getattr(target, "__self__", None) is not self:
            raise FlowRuntimeError(
                f"self.next in {where} got {target!r}, which is not a step of this flow",
                hint="pass steps as attributes of self, e.g. self.next(self.train)",
            )
        return str(func.__name__)

    def _count(self, var: str, where: str) -> int:
        try:
            items = getattr(self, var)
        except AttributeError:
            raise FlowRuntimeError(
                f"{where} fans out with foreach={var!r}, but self.{var} is not set",
                hint=f"assign the sequence first: self.{var} = [...]",
            ) from None
        # A str fans out over its characters; bytes would give integers, which is never meant.
        if isinstance(items, bytes) or not isinstance(items, Sized):
            shown = repr(items) if len(repr(items)) <= 40 else repr(items)[:37] + "..."
            raise FlowRuntimeError(
                f"{where}: foreach={var!r} needs a list or another sequence with a length, "
                f"but self.{var} is {shown} (type {type(items).__name__})",
                hint=f"make self.{var} a list (e.g. list(...)) before self.next",
            )
        count = len(items)
        if count == 0:
            raise FlowRuntimeError(
                f"{where}: foreach over self.{var}, which is empty, would run no task",
                hint=f"check why self.{var} is empty, or skip the fan-out with a switch",
            )
        return count

    def _switch(self, branches: dict[Any, Any], condition: str | None, where: str) -> Transition:
        if condition is None:
            raise FlowRuntimeError(
                f"{where} passes a dict of branches to self.next without condition=",
                hint='add condition="name_of_artifact" holding the branch key',
            )
        try:
            value = getattr(self, condition)
        except AttributeError:
            raise FlowRuntimeError(
                f"{where}: condition={condition!r} but self.{condition} is not set",
                hint=f"assign self.{condition} before self.next",
            ) from None
        if value not in branches and str(value) in branches:
            value = str(value)
        if value not in branches:
            raise FlowRuntimeError(
                f"{where}: self.{condition} is {value!r}, which matches no branch "
                f"(branches: {', '.join(repr(k) for k in branches)})",
                hint=f"set self.{condition} to one of the branch keys, or add a branch for it",
            )
        return Transition([self._target_name(branches[value], where)], condition=condition)

    # -- joins ---------------------------------------------------------------------------------
    def merge_artifacts(
        self,
        inputs: Inputs,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
    ) -> None:
        """Carry the branches' artifacts into this join step.

        An artifact is merged when every branch that has it has the same value; artifacts already
        set on ``self`` are left alone. Nothing is loaded: identical values are recognised by their
        content hash.

        Args:
            inputs: The ``inputs`` argument of the join step.
            include: Merge only these names (each must exist in some branch).
            exclude: Merge everything except these names.

        Raises:
            MergeConflict: Branches disagree on a value that was not set, excluded or left out.
            FlowRuntimeError: Called outside a join, or with both include and exclude.
        """
        state: TaskState = self.__dict__["_fk_state"]
        if not state.is_join or not isinstance(inputs, Inputs):
            raise FlowRuntimeError(
                f"merge_artifacts was called in {state.step_name!r}, which is not a join step",
                hint="call it in a step declared as def join(self, inputs)",
            )
        if include is not None and exclude is not None:
            raise FlowRuntimeError(
                "merge_artifacts takes include= or exclude=, not both", hint="pass only one"
            )
        branch_refs = [v._fk_state.refs for v in inputs]
        available = set().union(*branch_refs) - state.param_names
        own = {k for k in self.__dict__ if not k.startswith("_")}
        if include is not None:
            wanted = set(include)
            missing = sorted(wanted - available)
            if missing:
                raise FlowRuntimeError(
                    f"merge_artifacts(include=...) names {', '.join(missing)}, which no branch has",
                    hint=f"branches have: {', '.join(sorted(available)) or 'nothing'}",
                )
        else:
            wanted = available - set(exclude or ())
        conflicts = []
        for name in sorted(wanted - own):
            values = [refs[name] for refs in branch_refs if name in refs]
            if all(v == values[0] for v in values[1:]):
                state.refs[name] = values[0]
            else:
                conflicts.append(name)
        if conflicts:
            names = ", ".join(conflicts)
            raise MergeConflict(
                f"merge_artifacts in step {state.step_name!r}: the branches hold different "
                f"values for {names}",
                hint=f"set self.{conflicts[0]} yourself before merging (e.g. from inputs), "
                f"or pass exclude=[{', '.join(repr(c) for c in conflicts)}]",
            )
