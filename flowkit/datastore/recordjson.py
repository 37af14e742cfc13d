"""Reading records from JSON with every field checked against its dataclass annotations.

The record dataclasses of :mod:`flowkit.datastore.manifest` are built from parsed JSON by
:func:`build`, which checks each field against its type annotation: a field of the wrong type
(a date that is a string, a size that is a list), a negative count or a time outside what a date
can hold raises :class:`~flowkit.errors.CorruptObject` saying which field is wrong. The checks
are derived from the annotations (and cached per class), so a field added to a record is
validated without more code. :func:`dump` writes the canonical form: sorted keys, no spaces.
"""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING as dataclasses_missing
from dataclasses import fields, is_dataclass
from datetime import datetime, timezone
from typing import Any, Literal, TypeVar

from flowkit.errors import CorruptObject

_Record = TypeVar("_Record")
__all__ = ["build", "dump", "load"]


def dump(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def load(data: bytes | bytearray, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise CorruptObject(f"the {what} is not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise CorruptObject(f"the {what} is not a JSON object")
    return value


def build(cls: type[_Record], raw: Any) -> _Record:
    """A record of type ``cls`` from parsed JSON, every field checked against its annotation.

    Raises:
        CorruptObject: A required field is missing or a field holds the wrong kind of value.
    """
    try:
        return _record_converter(cls)(raw, "")
    except _Invalid as exc:
        raise CorruptObject(f"the stored {cls.__name__} is malformed: {exc}") from None


class _Invalid(Exception):
    """A value does not fit its annotation; the message says where and why."""


_Converter = Callable[[Any, str], Any]
_CONVERTERS: dict[Any, _Converter] = {}
# The range of dates datetime can represent, in seconds since the epoch.
_EARLIEST = datetime(1, 1, 2, tzinfo=timezone.utc).timestamp()
_LATEST = datetime(9999, 12, 30, tzinfo=timezone.utc).timestamp()


def _record_converter(cls: type) -> _Converter:
    if cls in _CONVERTERS:
        return _CONVERTERS[cls]
    hints = typing.get_type_hints(cls)
    checks = {f.name: _converter(hints[f.name], f.name.endswith("_at")) for f in fields(cls)}
    required = [
        f.name
        for f in fields(cls)
        if f.default is dataclasses_missing and f.default_factory is dataclasses_missing
    ]
    top_paths = {name: name for name in checks}

    def convert(raw: Any, where: str) -> Any:
        if not isinstance(raw, dict):
            raise _Invalid(f"{where or cls.__name__} must be a JSON object, not {_kind(raw)}")
        absent = [name for name in required if name not in raw]
        if absent:
            raise _Invalid(f"{_at(where, absent[0])} is missing")
        # Top-level field paths are built once: listing runs validates thousands of records.
        paths = top_paths if not where else {name: f"{where}.{name}" for name in checks}
        values = {
            name: check(raw[name], paths[name]) for name, check in checks.items() if name in raw
        }
        return cls(**values)

    _CONVERTERS[cls] = convert
    return convert


def _converter(hint: Any, is_time: bool = False) -> _Converter:
    """How to check (and build) a value annotated ``hint``; ``is_time``: seconds since epoch."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return lambda value, where: value
    if is_dataclass(hint):
        return lambda value, where: _record_converter(hint)(value, where)  # type: ignore[arg-type]
    if origin is Literal:
        allowed = typing.get_args(hint)

        def literal(value: Any, where: str) -> Any:
            if value not in allowed or isinstance(value, bool):
                choices = ", ".join(repr(a) for a in allowed)
                raise _Invalid(f"{where} must be one of {choices}, not {_show(value)}")
            return value

        return literal
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        [inner] = options  # records only use "X | None"
        check = _converter(inner, is_time)
        return lambda value, where: None if value is None else check(value, where)
    if origin is list:
        [item_hint] = typing.get_args(hint)
        item = _converter(item_hint)

        def as_list(value: Any, where: str) -> Any:
            if not isinstance(value, list):
                raise _Invalid(f"{where} must be a list, not {_kind(value)}")
            return [item(v, f"{where}[{i}]") for i, v in enumerate(value)]

        return as_list
    if origin is dict:
        _, value_hint = typing.get_args(hint)
        entry = _converter(value_hint)

        def as_dict(value: Any, where: str) -> Any:
            if not isinstance(value, dict):
                raise _Invalid(f"{where} must be a JSON object, not {_kind(value)}")
            if value_hint is Any:  # nothing to check per entry (free-form summaries)
                return dict(value)
            return {k: entry(v, f"{where}[{k!r}]") for k, v in value.items()}

        return as_dict
    if hint is float:
        return _time if is_time else _number
    if hint is int:
        return _count
    if hint is str:
        return _string
    raise TypeError(f"no JSON check for the annotation {hint!r}")  # a programming error


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Invalid(f"{where} must be a finite number, not {_show(value)}")
    return value


def _time(value: Any, where: str) -> float:
    number = _number(value, where)
    if not _EARLIEST <= number <= _LATEST:
        raise _Invalid(f"{where} must be a time in seconds since 1970, not {_show(value)}")
    return number


def _count(value: Any, where: str) -> int:
    # Every int of the records is a count, an index, a size or an attempt: never negative.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Invalid(f"{where} must be a whole number >= 0, not {_show(value)}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"{where} must be a string, not {_show(value)}")
    return value


def _at(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _show(value: Any) -> str:
    text = json.dumps(value)
    return f"{_kind(value)} ({text[:40]}{'...' if len(text) > 40 else ''})"
