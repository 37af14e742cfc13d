"""The ``@step`` decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flowkit.errors import FlowDefinitionError

F = TypeVar("F", bound=Callable[..., Any])

_STEP_MARK = "_flowkit_step"


def step(func: F) -> F:
    """Mark a method of a :class:`~flowkit.FlowSpec` as a step of the flow.

    A step ends with ``self.next(...)`` (except ``end``). A join step takes one more argument,
    ``inputs``, which gives the artifacts of the branches being joined.

    Args:
        func: The method to mark.

    Returns:
        The same function, marked.

    Raises:
        FlowDefinitionError: ``@step`` was applied to something that is not a function.
    """
    if isinstance(func, (staticmethod, classmethod, property)):
        # Raising here would surface as a traceback while the class body runs, before the CLI
        # can format anything; the graph check reports it instead, with its file and line.
        return func
    if not callable(func) or not hasattr(func, "__code__"):
        raise FlowDefinitionError(
            f"@step can only decorate a method defined with def, not {type(func).__name__}",
            hint="put @step directly above a 'def name(self):' inside the flow class",
        )
    setattr(func, _STEP_MARK, True)
    return func


def is_step(obj: object) -> bool:
    """Return True when ``obj`` is a function marked with :func:`step`."""
    return bool(getattr(obj, _STEP_MARK, False))
