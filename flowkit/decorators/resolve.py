"""Which decorators each step has (declared and ``--with``), checked before anything runs."""

from __future__ import annotations

import json
from typing import Any

from flowkit.decorators.attach import attached, flow_decorators
from flowkit.decorators.base import FlowDecorator, StepDecorator
from flowkit.decorators.builtin import BUILTIN_STEP_DECORATORS
from flowkit.decorators.flow_builtin import BUILTIN_FLOW_DECORATORS
from flowkit.dsl.step import is_step
from flowkit.errors import FlowDefinitionError, FlowDefinitionErrors
from flowkit.graph.model import FlowGraph
from flowkit.registry import PluginError, PluginRegistry, registry


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def step_decorators() -> PluginRegistry:
    """The plugin registry with flowkit's built-in step and flow decorators in it.

    Built-ins come in through the plugins' door, registered here rather than by the registry,
    which sits below this layer and must not import it.
    """
    plugins = registry()
    for name, cls in BUILTIN_STEP_DECORATORS.items():
        plugins.register("step", name, cls)
    for name, flow_cls in BUILTIN_FLOW_DECORATORS.items():
        plugins.register("flow", name, flow_cls)
    return plugins


def parse_with(spec: str) -> StepDecorator:
    """Build a decorator from a ``--with`` value such as ``retry:times=2``.

    Raises:
        PluginError: Unknown decorator name.
        FlowDefinitionError: Bad arguments.
    """
    name, _, args = spec.partition(":")
    cls = step_decorators().get("step", name.strip())
    kwargs: dict[str, Any] = {}
    for item in filter(None, (a.strip() for a in args.split(","))):
        key, sep, raw = item.partition("=")
        if not sep:
            raise FlowDefinitionError(
                f"--with {spec}: {item!r} is not key=value",
                hint=f"write --with {name}:key=value,key2=value2",
            )
        kwargs[key.strip()] = _value(raw.strip())
    try:
        return cls(**kwargs)
    except FlowDefinitionError as exc:
        exc.message = f"--with {spec}: {exc.message}"
        raise


def _check_order(node: Any, names: list[str], errors: list[FlowDefinitionError]) -> None:
    # In the source, decorators listed after @step are applied before it: "below @step".
    if "step" in node.decorators:
        below = node.decorators[node.decorators.index("step") + 1 :]
        for name in below:
            if name in names:
                errors.append(
                    FlowDefinitionError(
                        f"@{name} is below @step on step {node.name!r}",
                        hint=f"put @{name} above @step (decorators go above it)",
                        location=node.location,
                    )
                )


def resolve_step_decorators(
    flow_cls: type, graph: FlowGraph, with_specs: tuple[str, ...] = ()
) -> dict[str, list[StepDecorator]]:
    """Every step's decorators, declared ones first, then ``--with`` ones it does not already have.

    Raises:
        FlowDefinitionErrors: Every misuse found (bad arguments, decorator below @step or on a
            method that is not a step, duplicates, conflicting executors, failed step_init).
        PluginError: A ``--with`` name is unknown or cannot be loaded.
    """
    errors: list[FlowDefinitionError] = []
    extra = [parse_with(spec) for spec in with_specs]
    result: dict[str, list[StepDecorator]] = {}
    for node in graph:
        records = attached(getattr(flow_cls, node.name, None))
        decos: list[StepDecorator] = []
        for record in records:
            if record.error is not None:
                record.error.location = record.error.location or node.location
                errors.append(record.error)
            elif record.decorator is not None:
                record.decorator.location = node.location
                decos.append(record.decorator)
        _check_order(node, [r.name for r in records], errors)
        declared = {d.name for d in decos}
        decos += [d for d in extra if d.name not in declared]
        _check_conflicts(node, decos, errors)
        for deco in decos:
            try:
                deco.step_init(graph, node)
            except FlowDefinitionError as exc:
                exc.location = exc.location or node.location
                errors.append(exc)
        result[node.name] = decos
    errors += _misplaced(flow_cls, graph)
    if errors:
        raise FlowDefinitionErrors(errors)
    return result


def _check_conflicts(
    node: Any, decos: list[StepDecorator], errors: list[FlowDefinitionError]
) -> None:
    seen: set[str] = set()
    for deco in decos:
        if deco.name in seen and not deco.allow_multiple:
            errors.append(
                FlowDefinitionError(
                    f"@{deco.name} appears twice on step {node.name!r}",
                    hint="keep one, with all the arguments you need",
                    location=node.location,
                )
            )
        seen.add(deco.name)
    executors = sorted({e for d in decos if (e := d.executor_name())})
    if len(executors) > 1:
        errors.append(
            FlowDefinitionError(
                f"step {node.name!r} asks to run on several executors: {', '.join(executors)}",
                hint="a step runs in one place: keep one of those decorators",
                location=node.location,
            )
        )


def _misplaced(flow_cls: type, graph: FlowGraph) -> list[FlowDefinitionError]:
    errors = []
    for klass in flow_cls.__mro__:
        for name, value in vars(klass).items():
            records = attached(value)
            if records and not is_step(value) and name not in graph:
                errors.append(
                    FlowDefinitionError(
                        f"@{records[0].name} decorates {name!r}, which is not a step",
                        hint=f"add @step below @{records[0].name}, or remove the decorator",
                        location=graph.location,
                    )
                )
    return errors


def resolve_flow_decorators(flow_cls: type, graph: FlowGraph) -> list[FlowDecorator]:
    """The flow's class decorators, validated.

    Raises:
        FlowDefinitionErrors: A flow decorator had bad arguments or rejected the flow.
    """
    errors: list[FlowDefinitionError] = []
    decos: list[FlowDecorator] = []
    for record in flow_decorators(flow_cls):
        if isinstance(record, FlowDefinitionError):
            record.location = record.location or graph.location
            errors.append(record)
            continue
        try:
            record.flow_init(graph)
        except FlowDefinitionError as exc:
            exc.location = exc.location or graph.location
            errors.append(exc)
        decos.append(record)
    if errors:
        raise FlowDefinitionErrors(errors)
    return decos


__all__ = [
    "PluginError",
    "parse_with",
    "resolve_flow_decorators",
    "resolve_step_decorators",
    "step_decorators",
]
