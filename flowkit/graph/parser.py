"""Read a flow's graph from its source code, without running any step."""

from __future__ import annotations

import ast
import inspect
import os
import textwrap
from typing import Any

from flowkit.dsl.flowspec import RESERVED_NAMES
from flowkit.dsl.step import is_step
from flowkit.errors import FlowDefinitionError
from flowkit.graph.model import FlowGraph, StepNode

_NEXT_FORM = "self.next(self.a), self.next(self.a, self.b), self.next(self.a, foreach='items')"


def display_path(path: str) -> str:
    """A path as the user would type it: relative to the current folder when below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if not rel.startswith("..") else path


class _Ctx:
    """Collects errors with their locations while one class is parsed."""

    def __init__(self, file: str, offset: int) -> None:
        self.file = display_path(file)
        self.offset = offset
        self.errors: list[FlowDefinitionError] = []

    def line(self, node: ast.AST) -> int:
        return int(getattr(node, "lineno", 1)) + self.offset

    def error(self, node: ast.AST, message: str, hint: str) -> None:
        location = f"{self.file}:{self.line(node)}"
        self.errors.append(FlowDefinitionError(message, hint=hint, location=location))


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return ""


def _self_attr(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    ):
        return node.attr
    return None


def _is_next_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _self_attr(node.func) == "next"


def _class_source(klass: type) -> tuple[ast.ClassDef, str, int] | None:
    try:
        lines, start = inspect.getsourcelines(klass)
        file = inspect.getsourcefile(klass) or "<unknown>"
    except (OSError, TypeError):
        return None
    tree = ast.parse(textwrap.dedent("".join(lines)))
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            return node, file, start - 1
    return None


def parse_flow(flow_cls: type) -> tuple[FlowGraph, list[FlowDefinitionError]]:
    """Build the graph of ``flow_cls`` from the source of its class (and its base flows).

    Args:
        flow_cls: A subclass of :class:`~flowkit.FlowSpec`.

    Returns:
        The graph and the definition errors found while reading it (possibly empty).
    """
    from flowkit.dsl.flowspec import FlowSpec

    steps: dict[str, StepNode] = {}
    plain: set[str] = set()
    errors: list[FlowDefinitionError] = []
    flow_file = inspect.getsourcefile(flow_cls) or "<unknown>"
    for klass in reversed(flow_cls.__mro__):
        if not issubclass(klass, FlowSpec) or klass is FlowSpec:
            continue
        found = _class_source(klass)
        if found is None:
            errors.append(
                FlowDefinitionError(
                    f"cannot read the source of flow class {klass.__name__}",
                    hint="define flows in a .py file (not typed into an interactive prompt)",
                )
            )
            continue
        class_node, file, offset = found
        ctx = _Ctx(file, offset)
        _parse_class(class_node, ctx, steps, plain)
        errors.extend(ctx.errors)
    for name in dir(flow_cls):
        if name not in steps and is_step(getattr(flow_cls, name, None)):
            errors.append(
                FlowDefinitionError(
                    f"step {name!r} was not found in the class body",
                    hint="define steps with def inside the flow class",
                    location=display_path(flow_file),
                )
            )
    for node in steps.values():
        for child in node.out:
            if child in steps and node.name not in steps[child].parents:
                steps[child].parents.append(node.name)
    graph = FlowGraph(
        name=flow_cls.__name__,
        file=display_path(flow_file),
        steps=steps,
        doc=inspect.getdoc(flow_cls) or "",
        plain_methods=plain - set(steps),
    )
    return graph, errors


def _parse_class(
    class_node: ast.ClassDef, ctx: _Ctx, steps: dict[str, StepNode], plain: set[str]
) -> None:
    defined: dict[str, int] = {}
    for item in class_node.body:
        if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        decorators = [_decorator_name(d) for d in item.decorator_list]
        if "step" not in decorators:
            plain.add(item.name)
            continue
        name = item.name
        if name in defined:
            ctx.error(
                item,
                f"step {name!r} is defined twice in {class_node.name} "
                f"(first at line {defined[name]}); the second silently replaces the first",
                f"rename or delete one of the two {name!r} methods",
            )
            continue
        defined[name] = ctx.line(item)
        if isinstance(item, ast.AsyncFunctionDef):
            ctx.error(item, f"step {name!r} is async", "declare steps with plain def")
            continue
        steps[name] = _parse_step(item, decorators, ctx)


def _parse_step(func: ast.FunctionDef, decorators: list[str], ctx: _Ctx) -> StepNode:
    node = StepNode(
        name=func.name,
        file=ctx.file,
        line=ctx.line(func),
        doc=ast.get_docstring(func) or "",
        decorators=decorators,
        next_line=ctx.line(func),
    )
    _check_name(func, ctx)
    node.is_join = _check_signature(func, ctx)
    _check_assignments(func, ctx)
    last = func.body[-1] if func.body else None
    if isinstance(last, ast.Expr) and _is_next_call(last.value):
        assert isinstance(last.value, ast.Call)
        node.next_line = ctx.line(last)
        _parse_next(last.value, node, ctx)
        if func.name == "end":
            ctx.error(last, "the end step calls self.next", "end is the last step: remove the call")
        return node
    stray = [n for n in ast.walk(func) if _is_next_call(n)]
    if stray:
        ctx.error(
            stray[-1],
            f"self.next in step {func.name!r} is not the last statement of the step",
            "move self.next(...) to the end of the step, outside any if/for/try block "
            "(use a switch, self.next({...}, condition=...), to choose a branch)",
        )
    elif func.name != "end":
        ctx.error(
            func,
            f"step {func.name!r} does not call self.next",
            f"end the step with self.next(...), e.g. self.next(self.end); forms: {_NEXT_FORM}",
        )
    node.kind = "end"
    return node


def _check_name(func: ast.FunctionDef, ctx: _Ctx) -> None:
    if func.name in RESERVED_NAMES:
        ctx.error(
            func,
            f"{func.name!r} is a reserved name and cannot be a step",
            f"rename the step, e.g. {func.name}_step",
        )
    elif func.name.startswith("_"):
        ctx.error(func, f"step names cannot start with '_' ({func.name!r})", "rename the step")


def _check_signature(func: ast.FunctionDef, ctx: _Ctx) -> bool:
    args = func.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    extras = args.vararg or args.kwarg or args.kwonlyargs or args.defaults
    if extras or not positional or positional[0] != "self" or len(positional) > 2:
        ctx.error(
            func,
            f"step {func.name!r} has the signature ({', '.join(positional)}), which flowkit "
            "cannot call",
            f"declare it as def {func.name}(self): or, for a join, def {func.name}(self, inputs):",
        )
        return False
    return len(positional) == 2


def _check_assignments(func: ast.FunctionDef, ctx: _Ctx) -> None:
    for node in ast.walk(func):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            attr = _self_attr(target)
            if attr in RESERVED_NAMES:
                ctx.error(
                    target,
                    f"step {func.name!r} assigns self.{attr}, a name reserved by flowkit",
                    f"store it under another name, e.g. self.{attr}_value",
                )


def _parse_next(call: ast.Call, node: StepNode, ctx: _Ctx) -> None:
    keywords: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg not in ("foreach", "condition"):
            ctx.error(
                call,
                f"self.next in step {node.name!r} has an unknown argument {kw.arg}=",
                "self.next accepts foreach='artifact' or condition='artifact'",
            )
            continue
        if not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)):
            ctx.error(
                call,
                f"{kw.arg}= in step {node.name!r} must be a string literal naming an artifact",
                f"write {kw.arg}='name_of_artifact' (the name, not the value)",
            )
            continue
        keywords[kw.arg] = kw.value.value
    if len(call.args) == 1 and isinstance(call.args[0], ast.Dict):
        _parse_switch(call, call.args[0], node, ctx, keywords.get("condition"))
        return
    if "condition" in keywords:
        ctx.error(
            call,
            f"step {node.name!r} passes condition= without a dict of branches",
            'write self.next({"a": self.a, "b": self.b}, condition="choice")',
        )
    for arg in call.args:
        target = _self_attr(arg)
        if target is None:
            ctx.error(
                call,
                f"self.next in step {node.name!r} has an argument that is not a step",
                f"name steps as attributes of self; forms: {_NEXT_FORM}",
            )
            continue
        node.out.append(target)
    if not call.args:
        ctx.error(call, f"self.next() in step {node.name!r} names no step", "pass a step")
    if "foreach" in keywords:
        node.kind = "foreach"
        node.foreach_var = keywords["foreach"]
        if len(node.out) != 1:
            ctx.error(
                call,
                f"foreach in step {node.name!r} has {len(node.out)} targets",
                "fan out to exactly one step: self.next(self.work, foreach='items')",
            )
    elif len(node.out) > 1:
        node.kind = "split"
    if len(set(node.out)) != len(node.out):
        ctx.error(call, f"step {node.name!r} names the same step twice", "list each step once")


def _parse_switch(
    call: ast.Call, branches: ast.Dict, node: StepNode, ctx: _Ctx, condition: str | None
) -> None:
    node.kind = "switch"
    node.switch_var = condition
    if condition is None:
        ctx.error(
            call,
            f"step {node.name!r} passes a dict of branches without condition=",
            'add condition="name_of_artifact" whose value picks the branch',
        )
    for key, value in zip(branches.keys, branches.values):
        target = _self_attr(value) if value is not None else None
        if not isinstance(key, ast.Constant) or target is None:
            ctx.error(
                call,
                f"the switch in step {node.name!r} must map literal keys to steps",
                'write {"a": self.a, "b": self.b}',
            )
            continue
        node.switch_cases[str(key.value)] = target
        if target not in node.out:
            node.out.append(target)
