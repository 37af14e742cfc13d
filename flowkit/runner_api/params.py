"""Check a Runner's keyword arguments against the flow's parameters before anything runs.

The flow file is read, not imported: its ``Parameter(...)`` declarations are found in the
source and rebuilt from their literal arguments, so a program launching a run never executes
the flow's module-level code (heavy imports, side effects) in its own process. What cannot be
known without running code (a default computed by a function, a parameter inherited from a
flow class in another module) is left to the subprocess, whose CLI checks everything again.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowkit.dsl.parameters import IncludeFile, JSONType, Parameter
from flowkit.errors import FlowDefinitionError, ParameterError, did_you_mean

#: ``type=`` names a declaration may use, as they appear in the source.
_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "JSONType": JSONType,
    "dict": JSONType,
    "list": JSONType,
}


@dataclass
class FlowParameters:
    """The parameters a flow file declares, as far as its source tells.

    Attributes:
        flow_name: The flow class's name.
        params: Keyword name (``alpha``, or ``learning_rate`` for ``--learning-rate``) -> the
            parameter rebuilt from its literal arguments.
        complete: ``False`` when the flow class inherits from a class other than ``FlowSpec``
            whose parameters this reader cannot see: unknown names are then not refused here.
    """

    flow_name: str
    params: dict[str, Parameter]
    complete: bool


def _name_of(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _has_steps(cls: ast.ClassDef) -> bool:
    return any(
        isinstance(node, ast.FunctionDef)
        and any(_name_of(d) == "step" for d in node.decorator_list)
        for node in cls.body
    )


def _flow_classes(tree: ast.Module) -> list[ast.ClassDef]:
    """Classes of the module deriving (directly or through one another) from ``FlowSpec``, or
    with ``@step`` methods (a flow whose base class is imported from elsewhere)."""
    classes = {c.name: c for c in tree.body if isinstance(c, ast.ClassDef)}
    found: dict[str, ast.ClassDef] = {n: c for n, c in classes.items() if _has_steps(c)}
    changed = True
    while changed:
        changed = False
        for name, cls in classes.items():
            bases = {_name_of(b) for b in cls.bases}
            if name not in found and ("FlowSpec" in bases or bases & set(found)):
                found[name] = cls
                changed = True
    return [c for c in tree.body if isinstance(c, ast.ClassDef) and c.name in found]


def _main_call(tree: ast.Module) -> str:
    """The class instantiated under ``if __name__ == "__main__":``, if any."""
    for node in tree.body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name):
                    return inner.func.id
    return ""


def _literal(node: ast.expr | None) -> tuple[bool, Any]:
    if node is None:
        return True, None
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _rebuild(call: ast.Call) -> Parameter | None:
    """The ``Parameter`` a declaration makes, from its literal arguments only."""
    kind = IncludeFile if _name_of(call.func) == "IncludeFile" else Parameter
    args = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    name_node = call.args[0] if call.args else args.get("name")
    known, name = _literal(name_node)
    if not known or not isinstance(name, str):
        return None
    default_node = call.args[1] if len(call.args) > 1 else args.get("default")
    known_default, default = _literal(default_node)
    type_node = args.get("type")
    kind_type = _TYPES.get(_name_of(type_node)) if type_node is not None else None
    if type_node is not None and kind_type is None:
        return None  # a type flowkit refuses: the subprocess's check says so
    _, required = _literal(args.get("required"))
    try:
        if kind is IncludeFile:
            return IncludeFile(name, required=bool(required))
        # A computed default is a callable, whose inferred type is ``str``: keep that inference.
        fallback = (lambda: None) if not known_default else default
        return Parameter(name, default=fallback, type=kind_type, required=bool(required))
    except ParameterError:
        return None


def read_flow_parameters(flow_file: Path) -> FlowParameters:
    """Find the flow class of ``flow_file`` and its parameters, without running the file.

    Raises:
        FlowDefinitionError: The file cannot be parsed or declares no flow class.
    """
    try:
        tree = ast.parse(flow_file.read_bytes(), str(flow_file))
    except SyntaxError as exc:
        raise FlowDefinitionError(
            f"{flow_file} is not valid Python: {exc.msg} (line {exc.lineno})",
            hint="fix the syntax error, then run again",
        ) from exc
    classes = _flow_classes(tree)
    if not classes:
        raise FlowDefinitionError(
            f"{flow_file} defines no FlowSpec subclass",
            hint="pass the file of a flow (class MyFlow(FlowSpec) with @step methods)",
        )
    wanted = _main_call(tree)
    flow = next((c for c in classes if c.name == wanted), classes[-1])
    chain = [flow]
    complete = True
    while True:  # the flow's bases defined in the same file give their parameters too
        bases = [_name_of(b) for b in chain[-1].bases]
        local = [c for c in classes if c.name in bases]
        complete = complete and all(
            b in ("FlowSpec", "object") or b in {c.name for c in local} for b in bases
        )
        if not local:
            break
        chain.append(local[0])
    params: dict[str, Parameter] = {}
    for cls in reversed(chain):
        for node in cls.body:
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
                continue
            if _name_of(node.value.func) not in ("Parameter", "IncludeFile"):
                continue
            param = _rebuild(node.value)
            if param is None:
                complete = False
                continue
            for target in node.targets:
                if isinstance(target, ast.Name):
                    param.attr_name = target.id
                    params[param.name.replace("-", "_")] = param
    return FlowParameters(flow.name, params, complete)


def cli_value(value: Any) -> str:
    """A Python value as the command line takes it (``True`` -> ``true``, dicts as JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    return str(value)


def option_args(options: Mapping[str, Any], flags: Mapping[str, str] | None = None) -> list[str]:
    """Keyword arguments as command-line options: ``max_workers=4`` -> ``--max-workers 4``.

    ``True`` is a bare flag, ``False``/``None`` are left out, a list, tuple or set repeats the
    option; values are spelled by :func:`cli_value`.

    Args:
        options: The keyword arguments.
        flags: The option of each keyword (``{"tags": "--tag"}``, the Runner's table); when
            omitted, the keyword itself spelled as an option.
    """
    args: list[str] = []
    for key, value in options.items():
        flag = flags[key] if flags is not None else "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            args.append(flag)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                args += [flag, cli_value(item)]
        else:
            args += [flag, cli_value(value)]
    return args


def parameter_args(flow: FlowParameters, values: dict[str, Any], verb: str) -> list[str]:
    """Check ``values`` against the flow's parameters and turn them into CLI arguments.

    Args:
        flow: What :func:`read_flow_parameters` found.
        values: Keyword arguments naming parameters (by attribute or option name).
        verb: ``"run"`` or ``"resume"``, for messages.

    Raises:
        ParameterError: A name is no parameter of the flow, or a value cannot be converted to
            the parameter's type.
    """
    by_attr = {p.attr_name: key for key, p in flow.params.items()}
    args: list[str] = []
    for given, value in values.items():
        key = given if given in flow.params else by_attr.get(given)
        if key is None:
            if not flow.complete:  # maybe inherited: the subprocess will tell
                args += [f"--{given.replace('_', '-')}", cli_value(value)]
                continue
            names = sorted(flow.params)
            raise ParameterError(
                f"{flow.flow_name} has no parameter {given!r}" + did_you_mean(given, names),
                hint=f"{verb}() takes the flow's parameters ({', '.join(names) or 'none'}) "
                "and the run options tags, max_workers, decospecs, launcher",
            )
        param = flow.params[key]
        if value is None:
            continue
        text = cli_value(value)
        if not isinstance(param, IncludeFile):
            try:
                param.convert(text)
            except ParameterError as exc:
                raise ParameterError(
                    f"{verb}({given}={value!r}): {flow.flow_name}'s parameter {param.name!r} "
                    f"expects {param.type_name}",
                    hint=exc.hint.replace(f"--{param.name} ", f"{given}="),
                ) from None
        args += [f"--{param.name}", text]
    if verb == "run":
        given_keys = {k if k in flow.params else by_attr.get(k) for k in values}
        for key, param in flow.params.items():
            if param.required and param.default is None and key not in given_keys:
                raise ParameterError(
                    f"{flow.flow_name}'s parameter {param.name!r} is required",
                    hint=f"pass it: run({key}=...)",
                )
    return args
