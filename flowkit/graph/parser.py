"""Read a flow's graph from its source code, without running any step."""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

from flowkit.dsl.flowspec import RESERVED_NAMES, flow_class_source, flow_source_file
from flowkit.dsl.parameters import Parameter
from flowkit.dsl.step import is_step
from flowkit.errors import FlowDefinitionError
from flowkit.graph.model import FlowGraph, StepNode
from flowkit.user_paths import display_path

#: The forms of ``self.next``, quoted in hints.
NEXT_FORMS = "self.next(self.a), self.next(self.a, self.b), self.next(self.a, foreach='items')"


#: Decorators that turn a def into something other than a method flowkit can call.
_NOT_METHODS = ("staticmethod", "classmethod", "property")


class _Ctx:
    """Collects errors with their locations while one class is parsed."""

    def __init__(self, file: str, offset: int) -> None:
        self.file = display_path(file)
        self.offset = offset
        self.errors: list[FlowDefinitionError] = []
        # (step, attribute, location) of every ``self.x = ...``, checked once all steps are known
        self.assigned: list[tuple[str, str, str]] = []

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
    found = flow_class_source(klass)
    if found is None:
        return None
    lines, start, file = found
    tree = ast.parse(textwrap.dedent("".join(lines)))
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            return node, file, start - 1
    return None


def attribute_location(flow_cls: type, attr: str) -> str:
    """Where the flow class (or the base flow defining it) assigns the class attribute ``attr``.

    Used to point at a ``Parameter`` declaration in error messages.

    Returns:
        ``file:line``, just the file when the assignment is not found, or '' without source.
    """
    for klass in flow_cls.__mro__:
        if attr not in vars(klass):
            continue
        found = _class_source(klass)
        if found is None:
            return ""
        class_node, file, offset = found
        for item in class_node.body:
            if isinstance(item, ast.Assign):
                targets = item.targets
            elif isinstance(item, ast.AnnAssign):
                targets = [item.target]
            else:
                continue
            if any(isinstance(t, ast.Name) and t.id == attr for t in targets):
                return f"{display_path(file)}:{item.lineno + offset}"
        return display_path(file)
    return ""


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
    declared: set[str] = set()  # every def marked @step, kept or not (async, duplicate...)
    assigned: list[tuple[str, str, str]] = []
    errors: list[FlowDefinitionError] = []
    flow_file = flow_source_file(flow_cls) or "<unknown>"
    flow_line = 0
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
        _parse_class(class_node, ctx, steps, plain, declared)
        errors.extend(ctx.errors)
        assigned.extend(ctx.assigned)
        if klass is flow_cls:
            flow_line = ctx.line(class_node)
    for name in dir(flow_cls):
        if name not in declared and is_step(getattr(flow_cls, name, None)):
            errors.append(
                FlowDefinitionError(
                    f"step {name!r} was not found in the class body",
                    hint="define steps with def inside the flow class",
                    location=display_path(flow_file),
                )
            )
    errors.extend(_check_shadowing(flow_cls, steps, assigned))
    for node in steps.values():
        for child in node.out:
            if child in steps and node.name not in steps[child].parents:
                steps[child].parents.append(node.name)
    graph = FlowGraph(
        name=flow_cls.__name__,
        file=display_path(flow_file),
        steps=steps,
        # a flow without a docstring would otherwise inherit FlowSpec's, which says nothing of it
        doc=doc if (doc := inspect.getdoc(flow_cls) or "") != inspect.getdoc(FlowSpec) else "",
        plain_methods=plain - set(steps),
        line=flow_line,
    )
    return graph, errors


def _check_shadowing(
    flow_cls: type, steps: dict[str, StepNode], assigned: list[tuple[str, str, str]]
) -> list[FlowDefinitionError]:
    """Assignments ``self.x = ...`` where x is a step (the value would hide it) or a parameter."""
    errors = []
    for step_name, attr, location in assigned:
        if attr in steps:
            errors.append(
                FlowDefinitionError(
                    f"step {step_name!r} assigns self.{attr}, but {attr!r} is a step of this flow: "
                    "the value would hide the step",
                    hint=f"store it under another name, e.g. self.{attr}_result",
                    location=location,
                )
            )
        elif isinstance(inspect.getattr_static(flow_cls, attr, None), Parameter):
            errors.append(
                FlowDefinitionError(
                    f"step {step_name!r} assigns self.{attr}, but {attr!r} is a parameter, "
                    "and parameters are read-only",
                    hint=f"store the changed value under another name, e.g. self.{attr}_used",
                    location=location,
                )
            )
    return errors


def _parse_class(
    class_node: ast.ClassDef,
    ctx: _Ctx,
    steps: dict[str, StepNode],
    plain: set[str],
    declared: set[str],
) -> None:
    defined: dict[str, tuple[int, bool]] = {}  # name -> (line, is a step), for this class
    for item in class_node.body:
        if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        decorators = [_decorator_name(d) for d in item.decorator_list]
        name = item.name
        is_step_def = "step" in decorators
        if name in defined and (is_step_def or defined[name][1]):
            # Python keeps only the last def of a name: the other one silently disappears.
            ctx.error(
                item,
                f"{name!r} is defined twice in {class_node.name} "
                f"(first at line {defined[name][0]}); the second silently replaces the first",
                f"rename or delete one of the two {name!r} methods",
            )
            continue
        defined[name] = (ctx.line(item), is_step_def)
        if not is_step_def:
            plain.add(name)
            # A plain method in a subclass hides the base flow's step of that name.
            steps.pop(name, None)
            continue
        declared.add(name)
        if isinstance(item, ast.AsyncFunctionDef):
            ctx.error(item, f"step {name!r} is async", "declare steps with plain def")
            continue
        wrapper = next((d for d in decorators if d in _NOT_METHODS), None)
        if wrapper:
            ctx.error(
                item,
                f"step {name!r} is also a {wrapper}; a step must be a plain method",
                f"remove @{wrapper} and declare it as def {name}(self):",
            )
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
    call = _last_next_call(last)
    stray = [n for n in ast.walk(func) if _is_next_call(n) and n is not call]
    if stray:
        first = min(stray, key=ctx.line)
        ctx.error(
            first,
            f"self.next in step {func.name!r} is not the last statement of the step"
            + (" (the step calls it more than once)" if call is not None else ""),
            "call self.next once, as the last statement, outside any if/for/try block "
            "(to choose a branch, use a switch: self.next({...}, condition=...))",
        )
    if call is None:
        # A step other than end without self.next is reported by the checks, which know
        # whether the flow has an end step at all.
        node.kind = "end"
        return node
    node.next_line = ctx.line(call)
    if func.name == "end":
        ctx.error(call, "the end step calls self.next", "end is the last step: remove the call")
    else:
        _parse_next(call, node, ctx)
    return node


def _last_next_call(statement: ast.stmt | None) -> ast.Call | None:
    """The ``self.next(...)`` call that ``statement`` consists of, if any.

    ``return self.next(...)`` is accepted too: ``next`` returns None, so it means the same.
    """
    value = statement.value if isinstance(statement, (ast.Expr, ast.Return)) else None
    return value if isinstance(value, ast.Call) and _is_next_call(value) else None


def _check_name(func: ast.FunctionDef, ctx: _Ctx) -> None:
    if func.name in RESERVED_NAMES:
        ctx.error(
            func,
            f"{func.name!r} is a reserved name and cannot be a step",
            f"rename the step, e.g. {func.name}_step",
        )
    elif func.name.startswith("_"):
        ctx.error(
            func,
            f"step names cannot start with '_' ({func.name!r})",
            f"rename the step without the underscore, e.g. {func.name.lstrip('_') or 'work'}",
        )


def _check_signature(func: ast.FunctionDef, ctx: _Ctx) -> bool:
    args = func.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    extras = args.vararg or args.kwarg or args.kwonlyargs or args.defaults
    if extras or not positional or positional[0] != "self" or len(positional) > 2:
        ctx.error(
            func,
            f"step {func.name!r} has the signature ({ast.unparse(args)}), which flowkit "
            "cannot call",
            f"declare it as def {func.name}(self): or, for a join, def {func.name}(self, inputs):",
        )
        return False
    return len(positional) == 2


def _check_assignments(func: ast.FunctionDef, ctx: _Ctx) -> None:
    # Every store to self.x counts: plain and augmented assignment, unpacking, for and with targets.
    stores = [n for n in ast.walk(func) if isinstance(n, ast.Attribute)]
    stores = [n for n in stores if isinstance(n.ctx, ast.Store)]
    for target in sorted(stores, key=lambda n: (n.lineno, n.col_offset)):
        attr = _self_attr(target)
        if attr is None:
            continue
        ctx.assigned.append((func.name, attr, f"{ctx.file}:{ctx.line(target)}"))
        if attr in RESERVED_NAMES:
            ctx.error(
                target,
                f"step {func.name!r} assigns self.{attr}, a name reserved by flowkit",
                f"store it under another name, e.g. self.{attr}_value",
            )


def _parse_next(call: ast.Call, node: StepNode, ctx: _Ctx) -> None:
    keywords: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg == "num_parallel":
            # Any expression (a literal, a Parameter): its value is only known when it runs.
            node.num_parallel = ast.unparse(kw.value)
            continue
        if kw.arg not in ("foreach", "condition"):
            ctx.error(
                call,
                f"self.next in step {node.name!r} has an unknown argument {kw.arg}=",
                "self.next accepts foreach='artifact', condition='artifact' or num_parallel=N",
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
                f"name steps as attributes of self; forms: {NEXT_FORMS}",
            )
            continue
        node.out.append(target)
    if not call.args:
        ctx.error(call, f"self.next() in step {node.name!r} names no step", "pass a step")
    if node.num_parallel is not None:
        node.kind = "foreach"  # a gang fans out like a foreach; graph/parallel.py checks the rest
        if keywords or len(node.out) != 1:
            ctx.error(
                call,
                f"num_parallel in step {node.name!r} must name exactly one step, without "
                "foreach= or condition=",
                "start the gang with self.next(self.train, num_parallel=4)",
            )
    elif "foreach" in keywords:
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
    for key, value in zip(branches.keys, branches.values, strict=True):
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
