"""Errors of the model and data registry, each with a "Fix:" hint for the CLI to show."""

from __future__ import annotations

from flowkit.errors import FlowkitError


class RegistryError(FlowkitError):
    """Something about the registry's names, versions or aliases is wrong."""

    headline = "registry error"


class InvalidRegistryName(RegistryError, ValueError):
    """A model, dataset or alias name that the registry cannot store."""

    exit_code = 2
    headline = "bad registry name"


class ModelNotFound(RegistryError, KeyError):
    """No model or dataset of that name is registered."""

    headline = "not registered"


class VersionNotFound(RegistryError, KeyError):
    """The model exists, but not the version or alias asked for."""

    headline = "no such version"


class AliasConflict(RegistryError):
    """A compare-and-swap move lost: the alias no longer points where the caller expected.

    Attributes:
        current: The version number the alias points to now (``None``: unset).
    """

    exit_code = 3
    headline = "alias moved"

    def __init__(self, message: str, *, current: int | None, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.current = current
