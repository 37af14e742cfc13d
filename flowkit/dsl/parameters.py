"""Flow parameters: ``Parameter``, ``IncludeFile`` and ``JSONType``.

A parameter is declared as a class attribute of the flow. Its value is fixed when the run starts,
stored as an artifact visible to every task, and recorded with the run. Inside a step it reads like
any attribute (``self.alpha``) but cannot be assigned.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowkit.errors import FlowRuntimeError, ParameterError


class JSONType:
    """Marker type: the parameter's value is parsed as JSON (``--config '{"a": 1}'``)."""


_TYPE_NAMES: dict[Any, str] = {
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    JSONType: "json",
}
_TRUE = {"1", "true", "yes", "y", "on", "t"}
_FALSE = {"0", "false", "no", "n", "off", "f"}


@dataclass(frozen=True)
class ParameterContext:
    """What a callable default receives: the flow name, the user and the parameter name."""

    flow_name: str
    user_name: str
    parameter_name: str


class Parameter:
    """A value given on the command line when the run starts.

    Args:
        name: The option name on the command line (``--name``).
        default: A value, or a callable returning one (taking no argument or a
            :class:`ParameterContext`).
        type: ``str``, ``int``, ``float``, ``bool`` or :class:`JSONType`; inferred from the default
            when omitted.
        help: Text shown by ``run --help``.
        required: The run refuses to start without a value.
        show_default: Show the default in ``--help``.
        **unknown: Any other keyword is a mistake, reported by the flow check (``check``,
            ``run``) with the declaration's file and line and the closest valid keyword.
    """

    def __init__(
        self,
        name: str,
        default: Any = None,
        type: Any = None,
        help: str | None = None,
        required: bool = False,
        show_default: bool = True,
        **unknown: Any,
    ) -> None:
        self.name = name
        #: Keywords the declaration gave that no parameter takes; the flow check reports them
        #: (with the declaration's line, which is not known yet while the class body runs).
        self.unknown_keywords: tuple[str, ...] = tuple(sorted(unknown))
        self.default = default
        self.help = help or ""
        self.required = required
        self.show_default = show_default
        self.attr_name = name
        self.type = type if type is not None else self._infer_type(default)
        if self.type is dict or self.type is list:
            self.type = JSONType
        if self.type not in _TYPE_NAMES:
            raise ParameterError(
                f"parameter {name!r} has an unsupported type {self.type!r}",
                hint="use str, int, float, bool or flowkit.JSONType",
            )

    @classmethod
    def keywords(cls) -> list[str]:
        """The keyword arguments this kind of parameter accepts (for "did you mean")."""
        names: set[str] = set()
        for klass in cls.__mro__:
            init = vars(klass).get("__init__")
            if init is None or klass is object:
                continue
            for arg in inspect.signature(init).parameters.values():
                if arg.kind is not arg.VAR_KEYWORD and arg.name not in ("self", "name"):
                    names.add(arg.name)
        return sorted(names)

    @staticmethod
    def _infer_type(default: Any) -> Any:
        if default is None or callable(default):
            return str
        if isinstance(default, bool):
            return bool
        if isinstance(default, (dict, list)):
            return JSONType
        return type(default) if type(default) in _TYPE_NAMES else str

    @property
    def type_name(self) -> str:
        """Human name of the parameter's type."""
        return _TYPE_NAMES[self.type]

    def __set_name__(self, owner: type, attr_name: str) -> None:
        self.attr_name = attr_name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        state = obj.__dict__.get("_fk_state")
        if state is None:
            return self
        return state.load(self.attr_name)

    def __set__(self, obj: Any, value: Any) -> None:
        raise FlowRuntimeError(
            f"parameter {self.attr_name!r} is read-only inside a step",
            hint=f"store the changed value under another name, e.g. self.{self.attr_name}_used",
        )

    def resolve_default(self, flow_name: str, user_name: str) -> Any:
        """Evaluate the default (calling it when it is callable)."""
        default = self.default
        if callable(default):
            ctx = ParameterContext(flow_name, user_name, self.name)
            try:
                takes_arg = len(inspect.signature(default).parameters) > 0
            except (TypeError, ValueError):
                takes_arg = True
            try:
                default = default(ctx) if takes_arg else default()
            except Exception as exc:
                raise ParameterError(
                    f"the default of parameter {self.name!r} raised {type(exc).__name__}: {exc}",
                    hint=f"pass --{self.name} explicitly or fix the default function",
                ) from exc
        return default

    def convert(self, raw: Any) -> Any:
        """Convert a command-line string (or a Python default) to the parameter's type.

        Raises:
            ParameterError: The value cannot be converted.
        """
        if raw is None:
            return None
        kind = self.type
        try:
            if kind is JSONType:
                return json.loads(raw) if isinstance(raw, str) else raw
            if kind is bool:
                if isinstance(raw, bool):
                    return raw
                text = str(raw).strip().lower()
                if text in _TRUE:
                    return True
                if text in _FALSE:
                    return False
                raise ValueError(raw)
            if kind is int:
                if isinstance(raw, float) and not raw.is_integer():
                    raise ValueError(raw)
                return int(raw)
            if kind is float:
                return float(raw)
            return str(raw)
        except (ValueError, TypeError) as exc:
            raise ParameterError(
                f"parameter --{self.name} expects {self.type_name}, got {raw!r}",
                hint=f"pass a valid {self.type_name}, e.g. --{self.name} {self._example()}",
            ) from exc

    def _example(self) -> str:
        return {"str": "text", "int": "3", "float": "0.5", "bool": "true", "json": "'{\"k\": 1}'"}[
            self.type_name
        ]

    def load_value(self, value: Any) -> Any:
        """Turn the converted value into the artifact stored for the run (identity here)."""
        return value

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, type={self.type_name}, default={self.default!r})"


class IncludeFile(Parameter):
    """A parameter naming a local file whose *contents* are snapshotted into the run.

    Args:
        name: The option name on the command line.
        default: Default path.
        is_text: Load the file as text (``str``); otherwise ``bytes``.
        encoding: Text encoding.
        help: Text shown by ``run --help``.
        required: The run refuses to start without a value.
    """

    def __init__(
        self,
        name: str,
        default: Any = None,
        is_text: bool = True,
        encoding: str = "utf-8",
        help: str | None = None,
        required: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, default=default, type=str, help=help, required=required, **kwargs)
        self.is_text = is_text
        self.encoding = encoding

    def load_value(self, value: Any) -> Any:
        """Read the file named by ``value``.

        Raises:
            ParameterError: The file does not exist or cannot be decoded.
        """
        if value is None:
            return None
        path = Path(str(value)).expanduser()
        if not path.is_file():
            raise ParameterError(
                f"--{self.name}: the file {str(path)!r} does not exist",
                hint=f"pass the path of an existing file with --{self.name} PATH",
            )
        data = path.read_bytes()
        if not self.is_text:
            return data
        try:
            return data.decode(self.encoding)
        except UnicodeDecodeError as exc:
            raise ParameterError(
                f"--{self.name}: {str(path)!r} is not valid {self.encoding} text ({exc.reason})",
                hint="declare IncludeFile(..., is_text=False) to load it as bytes",
            ) from exc


def flow_parameters(flow_cls: type) -> dict[str, Parameter]:
    """Return the flow's parameters by attribute name, in declaration order (bases first)."""
    found: dict[str, Parameter] = {}
    for klass in reversed(flow_cls.__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, Parameter):
                found[attr] = value
    return found


ParamDefault = Callable[[ParameterContext], Any]
