"""Extension points: step decorators, flow decorators, executors, datastore backends, commands.

Plugins register through the entry-point group ``flowkit.plugins``. The entry point's name says what
it provides — ``step.<name>``, ``flow.<name>``, ``executor.<name>``, ``datastore.<scheme>``,
``command.<name>``, ``flowcommand.<name>``, ``deployer.<name>`` or ``settings.<plugin>`` — and its
value is ``module:object``. Entry points are only *loaded* when their name is asked for, so an
installed plugin costs nothing until used. When loading fails for want of an optional dependency,
the error says what to install (from the entry point's extras, e.g.
``flowkit_batch.decorator:BatchDecorator [aws]`` → ``pip install 'flowkit[aws]'``); an entry point
whose extras are not installed is refused with that hint before anything is imported.

First-party plugins (``plugins/flowkit_batch`` in this repository, installed as
``flowkit_batch``) use exactly this door, and import only :mod:`flowkit.extend` from flowkit.
"""

from __future__ import annotations

import re
from importlib import metadata
from typing import Any

from flowkit.errors import FlowkitError, did_you_mean

GROUP = "flowkit.plugins"
KINDS = (
    "step",
    "flow",
    "executor",
    "datastore",
    "command",
    "flowcommand",
    "deployer",
    "settings",
)
_LABELS = {
    "step": "step decorator",
    "flow": "flow decorator",
    "executor": "executor",
    "datastore": "datastore backend",
    "command": "command",
    "flowcommand": "flow command",
    "deployer": "deployer",
    "settings": "settings declaration",
}


class PluginError(FlowkitError):
    """A plugin is unknown or cannot be loaded."""

    exit_code = 2
    headline = "plugin error"


class PluginImportError(PluginError, ImportError):
    """A plugin is installed but what it needs is not; the hint says what to ``pip install``.

    An ``ImportError`` too, so ``from flowkit import batch`` fails the way imports fail.
    """

    def __init__(self, message: str, *, hint: str = "", name: str | None = None) -> None:
        PluginError.__init__(self, message, hint=hint)
        self.name = name
        self.path = None
        self.msg = message


_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def _missing_extras(ep: metadata.EntryPoint) -> list[str]:
    """Requirements of ``ep``'s extras that are not installed (by distribution name)."""
    if not ep.extras or ep.dist is None:
        return []
    wanted = {_normalized(extra) for extra in ep.extras}
    missing = []
    for requirement in ep.dist.requires or []:
        spec, _, marker = requirement.partition(";")
        found = _EXTRA_MARKER.search(marker)
        named = _REQUIREMENT_NAME.match(spec)
        if found is None or named is None or _normalized(found.group(1)) not in wanted:
            continue
        try:
            metadata.distribution(named.group(1))
        except metadata.PackageNotFoundError:
            missing.append(named.group(1))
    return missing


def _normalized(name: str) -> str:
    """A distribution or extra name normalized as packaging does (``Foo_bar`` -> ``foo-bar``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


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
        dist = ep.dist.name if ep.dist else "the plugin's package"
        install = f"pip install '{dist}{'[' + ','.join(ep.extras) + ']' if ep.extras else ''}'"
        missing = _missing_extras(ep)
        if missing:
            raise PluginImportError(
                f"the {_LABELS[kind]} {name!r} needs {', '.join(missing)}, which "
                f"{'is' if len(missing) == 1 else 'are'} not installed",
                hint=f"install what it needs: {install}",
                name=missing[0],
            )
        try:
            obj = ep.load()
        except ImportError as exc:
            raise PluginImportError(
                f"the {_LABELS[kind]} {name!r} ({ep.value}) cannot be imported: {exc}",
                hint=f"install what it needs: {install}",
                name=exc.name,
            ) from exc
        self._loaded[key] = obj
        return obj


_REGISTRY: PluginRegistry | None = None


def registry() -> PluginRegistry:
    """The process-wide registry.

    It sits below every layer and knows none of them: the layer that owns a kind registers its
    built-ins (``flowkit.decorators.resolve`` the built-in step decorators).
    """
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = PluginRegistry()
    return _REGISTRY
