"""The one place flowkit reads its configuration from.

Precedence, highest first: explicit values (CLI flags), environment variables, the config file
(``$FLOWKIT_CONFIG`` or ``~/.flowkit/config.json``), built-in defaults. No other module reads
``os.environ`` for flowkit settings.

Every setting has a ``FLOWKIT_<NAME>`` variable. Plugins declare their own settings with
:func:`declare_settings` (see :mod:`flowkit.extend`); those are read from the same sources, under
the plugin's name (``batch_queue`` / ``FLOWKIT_BATCH_QUEUE``), and listed by ``flowkit config``.

The S3 settings also honour the standard AWS variables (``AWS_ENDPOINT_URL_S3``,
``AWS_ENDPOINT_URL``, ``AWS_PROFILE``, ``AWS_REGION``, ``AWS_DEFAULT_REGION``,
``AWS_MAX_ATTEMPTS``), below their ``FLOWKIT_`` form. Credentials are deliberately not settings:
they are resolved by the AWS SDK's standard chain (environment, profile, instance role) when a
connection is made, so flowkit never holds, prints or stores them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

from flowkit.errors import ConfigError

DATASTORE_DIRNAME = ".flowkit"

_ENV_PREFIX = "FLOWKIT_"
# Standard AWS variables read as fallbacks for a setting, in order of preference.
_AWS_ENV = {
    "s3_endpoint_url": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "aws_profile": ("AWS_PROFILE",),
    "aws_region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "s3_max_attempts": ("AWS_MAX_ATTEMPTS",),
}
_CONDITIONAL_WRITES = ("auto", "on", "off")
# flowkit.registry.GROUP: where plugins declare their settings (``settings.<plugin>``)
_PLUGIN_GROUP = "flowkit.plugins"


@dataclass(frozen=True)
class Settings:
    """Typed flowkit configuration.

    Attributes:
        datastore_root: fsspec URL or path of the datastore; ``None`` means "find ``.flowkit/``".
        max_workers: Parallel local tasks; ``None`` means the number of cores.
        code_snapshot_warn_mb: Warn when a code snapshot is larger than this.
        code_max_mb: Refuse a code snapshot whose files add up to more than this many MiB,
            and stop extracting one that expands to more (``flowkit`` client, Batch jobs).
        debug: Show flowkit's own tracebacks.
        user: The user name recorded with runs.
        s3_endpoint_url: S3 endpoint for ``s3://`` roots (another region's, or a compatible
            server such as MinIO or SeaweedFS); ``None`` means AWS.
        aws_profile: AWS profile whose credentials and region are used; ``None``: default chain.
        aws_region: AWS region of the bucket; ``None``: from the profile or the SDK's default.
        s3_max_attempts: Attempts per S3 request, retrying 5xx answers, throttling, timeouts
            and dropped connections with exponential backoff.
        s3_timeout: Seconds to wait for an S3 server's answer before retrying.
        s3_conditional_writes: ``auto`` probes whether the server honours ``If-None-Match``
            once per process, ``on`` trusts it, ``off`` uses claim objects instead.
        heartbeat_interval: Seconds between two renewals of a running run's lease (one small
            write to the run's record area each time).
        heartbeat_expiry: Seconds a lease stays valid after a renewal: a run whose runner has
            not renewed it for that long is shown as ``lost``. Also how long a run that has no
            lease at all (recorded by an older flowkit) counts as running after its start.
        remote_status_timeout: Seconds a remote executor (Batch) keeps retrying when every
            check of its jobs' states fails (expired credentials, an unreachable endpoint);
            then it gives up and records the tasks it can no longer watch as failed.
        max_loop_iterations: Most passes a step inside a loop (a switch going back to an
            earlier step or to itself) may make in one foreach split of a run; the run stops
            with an error when a loop would go on past it.
        profile: The data catalog's profile (``--profile``); ``None``: the catalog's defaults.
        catalog: Path of the data catalog file (``--catalog``); ``None``: ``catalog.toml``
            next to the flow file (or in the current directory for ``flowkit catalog``).
        catalog_base: The folder a run's recorded catalog resolves relative locations against,
            in a task that runs elsewhere (a Batch job); ``None``: the folder recorded with
            the run (the catalog file's, on the machine that started it).
        credentials_file: TOML file holding credentials the catalog names, one table per
            credential; keep it outside the project. ``None``: ``~/.flowkit/credentials.toml``.
    """

    datastore_root: str | None = None
    max_workers: int | None = None
    code_snapshot_warn_mb: float = 10.0
    code_max_mb: float = 50.0
    debug: bool = False
    user: str = field(default_factory=lambda: _default_user())
    s3_endpoint_url: str | None = None
    aws_profile: str | None = None
    aws_region: str | None = None
    s3_max_attempts: int = 5
    s3_timeout: float = 60.0
    s3_conditional_writes: str = "auto"
    heartbeat_interval: float = 5.0
    heartbeat_expiry: float = 60.0
    remote_status_timeout: float = 300.0
    max_loop_iterations: int = 1000
    profile: str | None = None
    catalog: str | None = None
    catalog_base: str | None = None
    credentials_file: str | None = None

    def __post_init__(self) -> None:
        if self.s3_conditional_writes not in _CONDITIONAL_WRITES:
            raise ConfigError(
                f"setting s3_conditional_writes has the value {self.s3_conditional_writes!r}",
                hint=f"use one of {', '.join(_CONDITIONAL_WRITES)}",
            )
        if self.s3_max_attempts < 1 or self.s3_timeout <= 0:
            raise ConfigError(
                f"s3_max_attempts ({self.s3_max_attempts}) and s3_timeout ({self.s3_timeout}) "
                "must be positive",
                hint="set FLOWKIT_S3_MAX_ATTEMPTS to 1 or more and FLOWKIT_S3_TIMEOUT above 0",
            )
        # A lease must outlive a few missed renewals, or a busy runner would flicker to "lost".
        if self.heartbeat_interval <= 0 or self.heartbeat_expiry < 2 * self.heartbeat_interval:
            raise ConfigError(
                f"heartbeat_interval ({self.heartbeat_interval}) must be positive and "
                f"heartbeat_expiry ({self.heartbeat_expiry}) at least twice as long",
                hint="set FLOWKIT_HEARTBEAT_INTERVAL and FLOWKIT_HEARTBEAT_EXPIRY accordingly "
                "(defaults: 5 and 60 seconds)",
            )

        if self.max_loop_iterations < 1:
            raise ConfigError(
                f"max_loop_iterations ({self.max_loop_iterations}) must be 1 or more",
                hint="set FLOWKIT_MAX_LOOP_ITERATIONS to a positive number (default: 1000)",
            )

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


def _kind_name(kind: Any) -> str:
    """``"int"`` for ``int``, ``"int | None"``, ``Optional[int]``: the type a raw value becomes."""
    text = kind.__name__ if isinstance(kind, type) else str(kind)
    for noise in (" | None", "None | ", "typing.", "Optional[", "]"):
        text = text.replace(noise, "")
    return text.strip()


def _coerce(name: str, kind: Any, raw: Any) -> Any:
    base = _kind_name(kind)
    try:
        if base == "bool":
            if isinstance(raw, bool):
                return raw
            return str(raw).strip().lower() in ("1", "true", "yes", "on")
        if base == "int":
            return int(raw)
        if base == "float":
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


def _config_file_values() -> tuple[Path, dict[str, Any]]:
    """The config file's path and its values (empty when there is no file)."""
    path = config_file_path()
    if not path.is_file():
        return path, {}
    try:
        loaded = json.loads(path.read_text())
    except ValueError as exc:
        raise ConfigError(
            f"the config file {path} is not valid JSON ({exc})", hint="fix or delete it"
        ) from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"the config file {path} must hold a JSON object")
    return path, loaded


def _read(known: dict[str, Any], file_values: dict[str, Any]) -> dict[str, Any]:
    """The typed values of the ``known`` settings (name -> type) given by file or environment."""
    values = {k: v for k, v in file_values.items() if k in known}
    for name in known:
        names = (_ENV_PREFIX + name.upper(), *_AWS_ENV.get(name, ()))
        env = next((os.environ[n] for n in names if os.environ.get(n)), None)
        if env is not None:
            values[name] = env
    return {k: _coerce(k, known[k], v) for k, v in values.items()}


def load_settings(**overrides: Any) -> Settings:
    """Build the effective settings from file, environment and explicit overrides.

    Args:
        **overrides: Values given on the command line; ``None`` means "not given".

    Returns:
        The merged :class:`Settings`.

    Raises:
        ConfigError: A value cannot be parsed, the config file is not valid JSON, or it names
            a setting that neither flowkit nor an installed plugin declares.
    """
    path, file_values = _config_file_values()
    known = {f.name: f.type for f in fields(Settings)}
    unknown = sorted(set(file_values) - set(known))
    if unknown:
        # only now are plugins asked: a config file with only core settings costs no scan
        plugged = {name for declared in _declared_plugin_settings() for name in declared.names()}
        unknown = sorted(set(unknown) - plugged)
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {', '.join(unknown)} in {path}",
                hint=f"known settings are {', '.join(sorted(set(known) | plugged))}",
            )
    return Settings(**_read(known, file_values)).with_overrides(**overrides)


SchemaT = TypeVar("SchemaT")


class PluginSettings(Generic[SchemaT]):
    """The settings one plugin declares, read like flowkit's own (see :func:`declare_settings`).

    Args:
        plugin: The plugin's name; every setting is stored under ``<plugin>_<field>``.
        schema: A frozen dataclass whose typed fields (with defaults) are the settings.
    """

    def __init__(self, plugin: str, schema: type[SchemaT]) -> None:
        if not is_dataclass(schema):
            raise TypeError(f"{schema!r} must be a dataclass to declare settings")
        self.plugin = plugin
        self.schema = schema
        self.prefix = plugin.replace("-", "_").lower() + "_"
        core = {f.name for f in fields(Settings)}
        clashes = sorted(core & set(self.names()))
        if clashes:
            raise TypeError(f"plugin {plugin!r} redeclares flowkit setting(s) {clashes}")

    def names(self) -> list[str]:
        """The settings' full names: config-file keys, and ``FLOWKIT_<NAME>`` variables."""
        return [self.prefix + f.name for f in fields(self.schema)]  # type: ignore[arg-type]

    def load(self, **overrides: Any) -> SchemaT:
        """The plugin's settings from the config file and the environment.

        Args:
            **overrides: Values by field name; ``None`` means "not given".

        Raises:
            ConfigError: A value cannot be parsed or the config file is not valid JSON.
        """
        _, file_values = _config_file_values()
        known = {self.prefix + f.name: f.type for f in fields(self.schema)}  # type: ignore[arg-type]
        typed = _read(known, file_values)
        values = {k[len(self.prefix) :]: v for k, v in typed.items()}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return self.schema(**values)

    def describe(self, values: SchemaT | None = None) -> dict[str, Any]:
        """Full setting name -> value (URL passwords masked), for ``flowkit config``."""
        values = self.load() if values is None else values
        shown = {}
        for f in fields(self.schema):  # type: ignore[arg-type]
            value = getattr(values, f.name)
            shown[self.prefix + f.name] = redact_url(value) if isinstance(value, str) else value
        return shown


def declare_settings(plugin: str, schema: type[SchemaT]) -> PluginSettings[SchemaT]:
    """Declare a plugin's settings; register the result as a ``settings.<plugin>`` entry point.

    Each field of ``schema`` becomes the setting ``<plugin>_<field>``: the config-file key of that
    name and the variable ``FLOWKIT_<PLUGIN>_<FIELD>``, with the same precedence as flowkit's own
    settings. ``flowkit config`` lists every declared setting.

    Args:
        plugin: The plugin's name, e.g. ``"batch"``.
        schema: A frozen dataclass with typed, defaulted fields (``str``, ``int``, ``float``,
            ``bool``, optionally ``| None``).

    Returns:
        The declaration; call ``.load()`` where the values are needed.
    """
    return PluginSettings(plugin, schema)


def _declared_plugin_settings() -> list[PluginSettings[Any]]:
    """Every installed plugin's declared settings, by plugin name.

    Read from the ``settings.<plugin>`` entry points directly rather than through
    :mod:`flowkit.registry`, so that settings stay the bottom layer. A plugin that cannot be
    loaded is skipped: it is reported where it is used, not by every command.
    """
    from importlib import metadata

    found = []
    points = metadata.entry_points(group=_PLUGIN_GROUP)
    for ep in sorted(points, key=lambda ep: ep.name):
        if not ep.name.startswith("settings."):
            continue
        try:
            declared = ep.load()
        except ImportError:
            continue
        if isinstance(declared, PluginSettings):
            found.append(declared)
    return found


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


def redact_url(url: str) -> str:
    """``url`` with the password of its user part (``scheme://user:secret@host``) masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:****@{host}"))


def describe_settings(settings: Settings) -> dict[str, Any]:
    """The settings for display, with passwords in URLs masked.

    Returns:
        Setting name -> value, in declaration order (flowkit's, then each installed plugin's),
        plus the effective datastore root and the config file's path.
    """
    shown: dict[str, Any] = {}
    for f in fields(Settings):
        value = getattr(settings, f.name)
        shown[f.name] = redact_url(value) if isinstance(value, str) else value
    for declared in _declared_plugin_settings():
        shown.update(declared.describe())
    shown["datastore_root (effective)"] = redact_url(resolve_datastore_root(settings))
    shown["config file"] = str(config_file_path())
    return shown
