"""The one place flowkit reads its configuration from.

Precedence, highest first: explicit values (CLI flags), environment variables, the config file
(``$FLOWKIT_CONFIG`` or ``~/.flowkit/config.json``), built-in defaults. No other module reads
``os.environ`` for flowkit settings.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from flowkit.errors import ConfigError

DATASTORE_DIRNAME = ".flowkit"

_ENV_PREFIX = "FLOWKIT_"


@dataclass(frozen=True)
class Settings:
    """Typed flowkit configuration.

    Attributes:
        datastore_root: fsspec URL or path of the datastore; ``None`` means "find ``.flowkit/``".
        max_workers: Parallel local tasks; ``None`` means the number of cores.
        code_snapshot_warn_mb: Warn when a code snapshot is larger than this.
        debug: Show flowkit's own tracebacks.
        user: The user name recorded with runs.
    """

    datastore_root: str | None = None
    max_workers: int | None = None
    code_snapshot_warn_mb: float = 10.0
    debug: bool = False
    user: str = field(default_factory=lambda: _default_user())

    def with_overrides(self, **values: Any) -> Settings:
        """Return a copy with the non-``None`` values applied."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    def effective_max_workers(self) -> int:
        """The worker count, defaulting to the number of usable cores."""
        if self.max_workers is not None:
            return self.max_workers
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not Linux
            return max(1, os.cpu_count() or 1)


def _default_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user database entry (some containers)
        return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def _coerce(name: str, kind: Any, raw: Any) -> Any:
    try:
        if kind in (bool, "bool", "bool | None"):
            if isinstance(raw, bool):
                return raw
            return str(raw).strip().lower() in ("1", "true", "yes", "on")
        if kind in (int, "int", "int | None"):
            return int(raw)
        if kind in (float, "float"):
            return float(raw)
    except ValueError as exc:
        raise ConfigError(
            f"setting {name} has the value {raw!r}, which is not a valid {kind}",
            hint=f"set {_ENV_PREFIX}{name.upper()} to a valid value or unset it",
        ) from exc
    return str(raw)


def config_file_path() -> Path:
    """Return the path of the optional JSON config file."""
    explicit = os.environ.get(_ENV_PREFIX + "CONFIG")
    return Path(explicit) if explicit else Path.home() / DATASTORE_DIRNAME / "config.json"


def load_settings(**overrides: Any) -> Settings:
    """Build the effective settings from file, environment and explicit overrides.

    Args:
        **overrides: Values given on the command line; ``None`` means "not given".

    Returns:
        The merged :class:`Settings`.

    Raises:
        ConfigError: A value cannot be parsed or the config file is not valid JSON.
    """
    values: dict[str, Any] = {}
    path = config_file_path()
    if path.is_file():
        try:
            loaded = json.loads(path.read_text())
        except ValueError as exc:
            raise ConfigError(
                f"the config file {path} is not valid JSON ({exc})", hint="fix or delete it"
            ) from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"the config file {path} must hold a JSON object")
        values.update(loaded)
    for f in fields(Settings):
        env = os.environ.get(_ENV_PREFIX + f.name.upper())
        if env not in (None, ""):
            values[f.name] = env
    known = {f.name: f.type for f in fields(Settings)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(unknown)} in {path}",
            hint=f"known settings are {', '.join(sorted(known))}",
        )
    typed = {k: _coerce(k, known[k], v) for k, v in values.items()}
    return Settings(**typed).with_overrides(**overrides)


def find_datastore_root(start: Path | None = None) -> str:
    """Return the nearest ``.flowkit/`` folder above ``start``, or ``start/.flowkit``.

    Searching upward works like git: running a flow from a sub-folder of a project uses the
    project's datastore.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / DATASTORE_DIRNAME
        if candidate.is_dir() and candidate != Path.home() / DATASTORE_DIRNAME:
            return str(candidate)
    return str(here / DATASTORE_DIRNAME)


def resolve_datastore_root(settings: Settings) -> str:
    """The datastore root URL the runner and the client use."""
    return settings.datastore_root or find_datastore_root()
