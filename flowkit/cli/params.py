"""Flow parameters on the command line: click options built from the flow's ``Parameter``s."""

from __future__ import annotations

from typing import Any

import click

from flowkit.dsl.flowspec import RESERVED_NAMES
from flowkit.dsl.parameters import IncludeFile, Parameter, flow_parameters
from flowkit.errors import FlowDefinitionError, ParameterError, did_you_mean
from flowkit.graph.parser import attribute_location
from flowkit.settings import load_settings

#: Options of ``run`` that a parameter may not shadow (``profile``: the data catalog's).
RUN_OPTIONS = frozenset({"max_workers", "tag", "datastore_root", "debug", "help", "profile"})

PARAM_PREFIX = "fkparam__"


def _option_names(param: Parameter) -> list[str]:
    names = {f"--{param.name}", f"--{param.name.replace('_', '-')}"}
    return sorted(names)


def check_parameters(flow_cls: type) -> dict[str, Parameter]:
    """Return the flow's parameters, refusing names that clash with flowkit's own.

    Raises:
        FlowDefinitionError: A parameter name is reserved or used twice, or a declaration has
            a keyword no parameter takes.
    """
    params = flow_parameters(flow_cls)
    seen: dict[str, str] = {}
    for attr, param in params.items():
        key = param.name.replace("-", "_")
        where = attribute_location(flow_cls, attr)
        if param.unknown_keywords:
            bad = param.unknown_keywords[0]
            kind = type(param).__name__
            raise FlowDefinitionError(
                f"{kind} {param.name!r} has no keyword {bad!r}."
                + did_you_mean(bad, param.keywords()),
                hint=f"{kind} takes {', '.join(param.keywords())}",
                location=where,
            )
        if key in RUN_OPTIONS or attr in RESERVED_NAMES or key in RESERVED_NAMES:
            raise FlowDefinitionError(
                f"parameter {param.name!r} clashes with a name flowkit uses",
                hint=f"rename it (reserved: {', '.join(sorted(RUN_OPTIONS | RESERVED_NAMES))})",
                location=where,
            )
        if key in seen:
            raise FlowDefinitionError(
                f"parameters {seen[key]!r} and {attr!r} both use the option --{param.name}",
                hint="give each parameter its own name",
                location=where,
            )
        if not key.isidentifier():
            raise FlowDefinitionError(
                f"parameter name {param.name!r} is not a valid option name",
                hint="use letters, digits and underscores",
                location=where,
            )
        seen[key] = attr
    return params


def parameter_options(params: dict[str, Parameter]) -> list[click.Option]:
    """One click option per parameter; values stay raw strings until :func:`resolve_values`."""
    options = []
    for attr, param in params.items():
        kind = "file path" if isinstance(param, IncludeFile) else param.type_name
        help_text = param.help or ""
        extra = [f"type: {kind}"]
        if param.required:
            extra.append("required")
        elif param.show_default and param.default is not None and not callable(param.default):
            extra.append(f"default: {param.default!r}")
        elif callable(param.default):
            extra.append("default: computed")
        help_text = f"{help_text} [{'; '.join(extra)}]".strip()
        options.append(
            click.Option(
                [*_option_names(param), PARAM_PREFIX + attr],
                default=None,
                help=help_text,
                metavar=kind.upper().replace(" ", "_"),
                is_flag=False,
                flag_value="true" if param.type is bool else None,
            )
        )
    return options


def resolve_values(
    flow_name: str, params: dict[str, Parameter], raw: dict[str, Any]
) -> dict[str, Any]:
    """Turn the raw option values into the run's parameter values.

    Raises:
        ParameterError: A required value is missing, or a value cannot be converted or loaded.
    """
    user = load_settings().user
    values: dict[str, Any] = {}
    for attr, param in params.items():
        given = raw.get(PARAM_PREFIX + attr)
        if given is None:
            default = param.resolve_default(flow_name, user)
            if default is None and param.required:
                raise ParameterError(
                    f"parameter --{param.name} is required",
                    hint=f"pass --{param.name} VALUE (see run --help)",
                )
            value = param.convert(default) if default is not None else None
        else:
            value = param.convert(given)
        values[attr] = param.load_value(value)
    return values
