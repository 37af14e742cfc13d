"""Attaching decorators to steps and flows without ever raising at import time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flowkit.decorators.base import FlowDecorator, StepDecorator
from flowkit.errors import FlowDefinitionError

_STEP_DECOS = "_flowkit_decorators"
_FLOW_DECOS = "_flowkit_flow_decorators"


@dataclass
class Attached:
    """A decorator as declared on a function: the instance, or the error building it raised."""

    decorator: StepDecorator | None
    name: str
    error: FlowDefinitionError | None = None
    target_ok: bool = True


def attached(func: Any) -> list[Attached]:
    """Decorators declared on a step function, top first."""
    return list(getattr(func, _STEP_DECOS, []))


def flow_decorators(flow_cls: type) -> list[Any]:
    """Decorators declared on a flow class (instances or recorded errors), top first."""
    return list(flow_cls.__dict__.get(_FLOW_DECOS, []))


def _attach(func: Any, cls: type[StepDecorator], kwargs: dict[str, Any]) -> Any:
    try:
        record = Attached(cls(**kwargs), cls.name)
    except FlowDefinitionError as exc:
        record = Attached(None, cls.name, exc)
    target_ok = callable(func) and hasattr(func, "__code__")
    record.target_ok = target_ok
    if not target_ok:
        return func  # reported by the graph check, which sees the name in the source
    setattr(func, _STEP_DECOS, [record, *attached(func)])
    return func


def step_decorator(cls: type[StepDecorator]) -> Callable[..., Any]:
    """Make the user-facing decorator for ``cls``: usable as ``@name`` or ``@name(arg=...)``."""

    def decorate(func: Any = None, **kwargs: Any) -> Any:
        if func is not None and not kwargs and callable(func):
            return _attach(func, cls, {})
        if func is not None:
            kwargs = {"_positional": func, **kwargs}

        def apply(target: Any) -> Any:
            return _attach(target, cls, kwargs)

        return apply

    decorate.__name__ = cls.name
    decorate.__doc__ = cls.__doc__
    decorate.decorator_class = cls  # type: ignore[attr-defined]
    return decorate


def flow_decorator(cls: type[FlowDecorator]) -> Callable[..., Any]:
    """Make the user-facing class decorator for ``cls``."""

    def decorate(flow_cls: Any = None, **kwargs: Any) -> Any:
        def apply(target: Any) -> Any:
            try:
                record: Any = cls(**kwargs)
            except FlowDefinitionError as exc:
                record = exc
            setattr(target, _FLOW_DECOS, [record, *flow_decorators(target)])
            return target

        if isinstance(flow_cls, type):
            return apply(flow_cls)
        return apply

    decorate.__name__ = cls.name
    decorate.__doc__ = cls.__doc__
    return decorate
