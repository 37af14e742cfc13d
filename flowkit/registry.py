"""Extension points: step decorators, flow decorators, executors, datastore backends, commands.

Plugins register through the entry-point group ``flowkit.plugins``. The entry point's name says
what it provides — ``step.<name>``, ``flow.<name>``, ``executor.<name>``, ``datastore.<scheme>`` or
``command.<name>`` — and its value is ``module:object``. Entry points are only *loaded* when their
name is asked for, so an installed plugin costs nothing until used. When loading fails for want
of an optional dependency, the error says what to install (from the entry point's extras, e.g.
``plugins.batch:BatchDecorator [aws]`` → ``pip install 'flowkit[aws]'``).

First-party plugins (``plugins/`` in this repository) use exactly this door.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from flowkit.errors import FlowkitError, did_you_mean

GROUP = "flowkit.plugins"
KINDS = ("step", "flow", "executor", "datastore", "command")
_LABELS = {
    "step": "step decorator",
    "flow": "flow decorator",
    "executor": "executor",
    "datastore": "datastore backend",
    "command": "command",
}


class PluginError(FlowkitError):
    """A plugin is unknown or cannot be loaded."""

    exit_code = 2
    headline = "plugin error"


class PluginRegistry:
    """Name -> object, per kind: built-ins registered in code, plugins from entry points."""

    def __init__(self) -> None:
        self._builtin: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        self._loaded: dict[str, Any] = {}
        self._entry_points: dict[str, metadata.EntryPoint] | None = None

    def register(self, kind: str, name: str, obj: Any) -> None:
        """Register a built-in (or, in tests, an ad-hoc) extension."""
        self._builtin[kind][name] = obj

    def _eps(self) -> dict[str, metadata.EntryPoint]:
        if self._entry_points is None:
            self._entry_points = {ep.name: ep for ep in metadata.entry_points(group=GROUP)}
        return self._entry_points

    def names(self, kind: str) -> list[str]:
        """Every name available for ``kind`` (nothing is loaded)."""
        prefix = kind + "."
        plugged = [n[len(prefix) :] for n in self._eps() if n.startswith(prefix)]
        return sorted(set(self._builtin[kind]) | set(plugged))

    def get(self, kind: str, name: str) -> Any:
        """The extension ``name`` of ``kind``.

        Raises:
            PluginError: No such extension, or its plugin cannot be imported.
        """
        if name in self._builtin[kind]:
            return self._builtin[kind][name]
        key = f"{kind}.{name}"
        if key in self._loaded:
            return self._loaded[key]
        ep = self._eps().get(key)
        if ep is None:
            known = self.names(kind)
            raise PluginError(
                f"there is no {_LABELS[kind]} named {name!r}." + did_you_mean(name, known),
                hint=f"available: {', '.join(known) or 'none'}; plugins register through the "
                f"{GROUP!r} entry-point group",
            )
        try:
            obj = ep.load()
        except ImportError as exc:
            dist = ep.dist.name if ep.dist else "the plugin's package"
            extras = f"[{','.join(ep.extras)}]" if ep.extras else ""
            raise PluginError(
                f"the {_LABELS[kind]} {name!r} ({ep.value}) cannot be imported: {exc}",
                hint=f"install what it needs: pip install '{dist}{extras}'",
            ) from exc
        self._loaded[key] = obj
        return obj


_REGISTRY: PluginRegistry | None = None


def registry() -> PluginRegistry:
    """The process-wide registry, with flowkit's built-ins registered."""
    global _REGISTRY
    if _REGISTRY is None:
        from flowkit.decorators.builtin import BUILTIN_STEP_DECORATORS
        from flowkit.decorators.flow_builtin import BUILTIN_FLOW_DECORATORS

        _REGISTRY = PluginRegistry()
        for name, cls in BUILTIN_STEP_DECORATORS.items():
            _REGISTRY.register("step", name, cls)
        for name, flow_cls in BUILTIN_FLOW_DECORATORS.items():
            _REGISTRY.register("flow", name, flow_cls)
    return _REGISTRY
