"""The catalog file: datasets, dataset factories, credentials' declarations and profiles.

A catalog is a TOML file (``catalog.toml`` next to the flow)::

    [datasets.orders]
    type = "csv"
    location = "data/orders.csv"          # relative to the catalog file

    [datasets."{region}_orders"]            # a factory: emea_orders, apac_orders ...
    type = "csv"
    location = "data/{region}/orders.csv"

    [profiles.prod.datasets.orders]         # --profile prod
    type = "sql_table"
    location = "postgresql+psycopg://app@db.internal:5432/shop"
    table = "orders"
    credential = "warehouse"

    [credentials.warehouse]
    source = "env"
    env = {password = "WAREHOUSE_PASSWORD"}

Strings may name environment variables, ``${NAME}`` or ``${NAME:-default}`` (a server's
host and port that differ between machines); never put a secret there, name a credential.

A profile's entry is laid over the default entry of the same name, key by key; when it changes
the ``type``, the default's ``load``/``save`` options (which belong to the old type) are dropped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowkit.catalog.errors import (
    CatalogFileError,
    UnknownDataset,
    UnknownDatasetType,
    UnknownProfile,
)
from flowkit.catalog.toml import read_toml
from flowkit.errors import did_you_mean

DEFAULT_PROFILE = "default"
CATALOG_FILENAME = "catalog.toml"
FILE_TYPES = ("csv", "parquet", "json", "text", "bytes", "pickle")
SQL_TYPES = ("sql_table", "sql_query")
TYPES = FILE_TYPES + SQL_TYPES
TABLE_TYPES = ("csv", "parquet", "json", "sql_table", "sql_query")
_DATASET_KEYS = (
    "type",
    "location",
    "load",
    "save",
    "credential",
    "snapshot",
    "schema",
    "table",
    "query",
    "chunksize",
    "storage_options",
    "description",
)
_TOP_KEYS = ("datasets", "credentials", "profiles")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PASSWORD_IN_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@:]*:[^/@]*@")
# Rows per database round trip: larger chunks are no faster, and each one's driver rows (Python
# tuples) are transient memory on top of the DataFrame (measured on 1M rows: 100,000-row chunks
# peak 3.6x the frame, 20,000-row chunks 2.6x, at the same speed).
DEFAULT_CHUNKSIZE = 20_000


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset as resolved in one profile: everything needed to read or write it but secrets.

    Attributes:
        name: The name asked for (``"emea_orders"``).
        type: One of :data:`TYPES`.
        location: An fsspec URL or path (file types), or a SQLAlchemy URL without password.
        profile: The profile it was resolved in.
        load_options: Keyword arguments for the reader.
        save_options: Keyword arguments for the writer.
        credential: Name of the credential to use, if any.
        snapshot: Whether loads are copied into the datastore.
        schema: Column name to pandas dtype, checked on save.
        table: The table of a ``sql_table``.
        query: The query of a ``sql_query``.
        chunksize: Rows per chunk when streaming to or from a database.
        storage_options: fsspec options (``endpoint_url`` ...), never credentials.
        pattern: The factory the dataset came from, when it came from one.
        description: Free text for ``flowkit catalog describe``.
    """

    name: str
    type: str
    location: str
    profile: str
    load_options: dict[str, Any] = field(default_factory=dict)
    save_options: dict[str, Any] = field(default_factory=dict)
    credential: str | None = None
    snapshot: bool = False
    schema: dict[str, str] | None = None
    table: str | None = None
    query: str | None = None
    chunksize: int = DEFAULT_CHUNKSIZE
    storage_options: dict[str, Any] = field(default_factory=dict)
    pattern: str | None = None
    description: str = ""

    @property
    def where(self) -> str:
        """``dataset 'orders' (profile 'prod')``: how errors name it."""
        return f"dataset {self.name!r} (profile {self.profile!r})"

    @property
    def is_table(self) -> bool:
        """Whether it loads as a DataFrame (has rows and a schema)."""
        return self.type in TABLE_TYPES

    @property
    def shown_location(self) -> str:
        """The location as lineage and listings show it: the table or query included."""
        if self.type == "sql_table":
            return f"{self.location}#{self.table}"
        return self.location

    def describe(self) -> dict[str, Any]:
        """What ``flowkit catalog describe`` shows (there is no secret in a spec to mask)."""
        shown: dict[str, Any] = {
            "name": self.name,
            "profile": self.profile,
            "type": self.type,
            "location": self.location,
        }
        optional = {
            "factory": self.pattern,
            "table": self.table,
            "query": self.query,
            "credential": self.credential,
            "schema": self.schema,
            "load": self.load_options,
            "save": self.save_options,
            "storage_options": self.storage_options,
            "description": self.description,
        }
        shown.update({k: v for k, v in optional.items() if v})
        shown["snapshot"] = self.snapshot
        return shown


class CatalogConfig:
    """A parsed catalog file, seen through one profile.

    Args:
        raw: The parsed TOML.
        path: The file, for messages and to resolve relative locations.
        profile: The profile to apply; ``None`` or ``"default"``: none.
        base: The folder relative locations resolve against (default: the file's folder).

    Raises:
        CatalogFileError: The file's layout is wrong.
        UnknownProfile: ``profile`` is not declared in the file.
    """

    def __init__(
        self,
        raw: dict[str, Any],
        path: Path,
        profile: str | None = None,
        base: Path | None = None,
    ) -> None:
        self.path = path
        self.base = base if base is not None else path.parent
        unknown = sorted(set(raw) - set(_TOP_KEYS))
        if unknown:
            raise CatalogFileError(
                f"the catalog {path} has unknown section(s) {', '.join(unknown)}."
                + did_you_mean(unknown[0], _TOP_KEYS),
                hint=f"use only {', '.join(_TOP_KEYS)}",
            )
        self.profiles = sorted(_table(raw, "profiles", path))
        self.profile = profile or DEFAULT_PROFILE
        overlay: dict[str, Any] = {}
        if self.profile != DEFAULT_PROFILE:
            if self.profile not in self.profiles:
                known = [DEFAULT_PROFILE, *self.profiles]
                raise UnknownProfile(
                    f"the catalog {path} has no profile {self.profile!r}."
                    + did_you_mean(self.profile, known),
                    hint=f"use one of {', '.join(known)} (--profile or FLOWKIT_PROFILE)",
                )
            overlay = _table(raw["profiles"], self.profile, path)
        self._datasets = _merge_datasets(
            _table(raw, "datasets", path), _table(overlay, "datasets", path)
        )
        self._credentials = {
            **_table(raw, "credentials", path),
            **_table(overlay, "credentials", path),
        }

    @classmethod
    def from_file(cls, path: Path, profile: str | None = None) -> CatalogConfig:
        """Read and parse the catalog at ``path``.

        Raises:
            CatalogFileError: The file is missing or malformed.
            UnknownProfile: ``profile`` is not declared in it.
        """
        if not path.is_file():
            raise CatalogFileError(
                f"no data catalog at {path}",
                hint=f"create {path.name} next to the flow, or pass --catalog PATH",
            )
        return cls(read_toml(path, "catalog"), path, profile)

    def names(self) -> list[str]:
        """Every dataset name and factory pattern, sorted."""
        return sorted(self._datasets)

    def credential_declaration(self, name: str) -> dict[str, Any]:
        """The ``[credentials.<name>]`` table; empty when undeclared (the credentials file)."""
        found = self._credentials.get(name, {})
        return dict(found) if isinstance(found, dict) else {}

    def resolve(self, name: str) -> DatasetSpec:
        """The dataset ``name`` in this profile: an exact entry, else the first factory matching.

        Raises:
            UnknownDataset: Nothing matches (the message suggests the closest name).
            UnknownDatasetType: The entry's type is not a known one.
            CatalogFileError: The entry has unknown keys or a password in its location.
        """
        entry = self._datasets.get(name)
        values: dict[str, str] = {}
        pattern = None
        if entry is None:
            for pattern_name, regex in self._factories():
                match = regex.fullmatch(name)
                if match:
                    entry, pattern, values = self._datasets[pattern_name], pattern_name, {}
                    values = match.groupdict()
                    break
        if entry is None:
            raise UnknownDataset(
                f"the catalog {self.path} has no dataset {name!r} in profile {self.profile!r}."
                + did_you_mean(name, self._datasets),
                hint=f"add [datasets.{name}] to the catalog, or use one of: "
                + ", ".join(self.names()),
            )
        return self._spec(name, _expand_env(_fill(entry, values), name, self.profile), pattern)

    def _factories(self) -> Iterator[tuple[str, re.Pattern[str]]]:
        # The most specific pattern first: the one with the most literal characters.
        patterns = [n for n in self._datasets if _PLACEHOLDER.search(n)]
        patterns.sort(key=lambda n: -len(_PLACEHOLDER.sub("", n)))
        for pattern in patterns:
            parts = _PLACEHOLDER.split(pattern)
            regex = "".join(
                re.escape(part) if i % 2 == 0 else f"(?P<{part}>[A-Za-z0-9_.-]+?)"
                for i, part in enumerate(parts)
            )
            yield pattern, re.compile(regex)

    def _spec(self, name: str, entry: dict[str, Any], pattern: str | None) -> DatasetSpec:
        where = f"dataset {name!r} (profile {self.profile!r})"
        unknown = sorted(set(entry) - set(_DATASET_KEYS))
        if unknown:
            raise CatalogFileError(
                f"{where} in {self.path} has unknown key(s) {', '.join(unknown)}."
                + did_you_mean(unknown[0], _DATASET_KEYS),
                hint=f"the keys of a dataset are {', '.join(_DATASET_KEYS)}",
            )
        kind = entry.get("type")
        if kind not in TYPES:
            raise UnknownDatasetType(
                f"{where} in {self.path} has type {kind!r}." + did_you_mean(str(kind), TYPES),
                hint=f"use one of {', '.join(TYPES)}",
            )
        location = str(entry.get("location", ""))
        if not location:
            raise CatalogFileError(f"{where} in {self.path} has no location", hint="add one")
        if _PASSWORD_IN_URL.match(location):
            # Said without repeating the URL: it holds the password.
            raise CatalogFileError(
                f"{where} in {self.path} has a password in its location",
                hint='remove it from the URL and name a credential (credential = "...")',
            )
        table, query = entry.get("table"), entry.get("query")
        if kind == "sql_table" and not table:
            raise CatalogFileError(f"{where} is a sql_table without a table", hint="add table")
        if kind == "sql_query" and not query:
            raise CatalogFileError(f"{where} is a sql_query without a query", hint="add query")
        return DatasetSpec(
            name=name,
            type=kind,
            location=self._absolute(location, kind),
            profile=self.profile,
            load_options=dict(entry.get("load", {})),
            save_options=dict(entry.get("save", {})),
            credential=entry.get("credential"),
            snapshot=bool(entry.get("snapshot", False)),
            schema=dict(entry["schema"]) if entry.get("schema") else None,
            table=table,
            query=query,
            chunksize=int(entry.get("chunksize", DEFAULT_CHUNKSIZE)),
            storage_options=dict(entry.get("storage_options", {})),
            pattern=pattern,
            description=str(entry.get("description", "")),
        )

    def _absolute(self, location: str, kind: str) -> str:
        """Relative paths are relative to the catalog file, not to where the flow runs."""
        if kind in SQL_TYPES:
            prefix, sep, db = location.partition(":///")
            if prefix.startswith("sqlite") and sep and db and not db.startswith("/"):
                return f"{prefix}:///{(self.base / db).resolve()}"
            return location
        if "://" in location or Path(location).is_absolute():
            return location
        absolute = (self.base / location).resolve()
        return str(absolute) + ("/" if location.endswith("/") else "")


def refuse_passwords(raw: dict[str, Any], path: Path) -> None:
    """Refuse a catalog with a password in any location, in any profile (before it is stored
    with a run: the file travels with the run, and nothing secret may).

    Raises:
        CatalogFileError: A dataset's location is a URL with a password (the message names the
            dataset and the profile, never the URL).
    """
    places = [(DEFAULT_PROFILE, _table(raw, "datasets", path))]
    for name, profile in sorted(_table(raw, "profiles", path).items()):
        if isinstance(profile, dict):
            places.append((name, _table(profile, "datasets", path)))
    for profile_name, datasets in places:
        for name, entry in sorted(datasets.items()):
            location = entry.get("location") if isinstance(entry, dict) else None
            if isinstance(location, str) and _PASSWORD_IN_URL.match(location):
                raise CatalogFileError(
                    f"dataset {name!r} (profile {profile_name!r}) in {path} has a password in "
                    "its location; the catalog is recorded with the run, so it must hold none",
                    hint="remove the password from the URL and name a credential "
                    '(credential = "...") that supplies it when the dataset is used',
                )


def _table(raw: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise CatalogFileError(f"{key!r} in the catalog {path} must be a table", hint="fix it")
    return value


def _merge_datasets(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, dict[str, Any]]:
    merged = {name: dict(entry) for name, entry in base.items()}
    for name, entry in overlay.items():
        old = merged.get(name, {})
        if "type" in entry and entry["type"] != old.get("type"):
            old = {k: v for k, v in old.items() if k not in ("load", "save")}
        merged[name] = {**old, **entry}
    return merged


def _expand_env(entry: dict[str, Any], name: str, profile: str) -> dict[str, Any]:
    """Replace ``${NAME}`` and ``${NAME:-default}`` in the entry's strings."""

    def expand(match: re.Match[str]) -> str:
        value = os.environ.get(match.group(1), match.group(2))
        if value is None:
            raise CatalogFileError(
                f"dataset {name!r} (profile {profile!r}) uses ${{{match.group(1)}}}, which is "
                "not set",
                hint=f"export {match.group(1)}=... or write ${{{match.group(1)}:-default}}",
            )
        return value

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return _ENV_REF.sub(expand, value)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value

    return {k: walk(v) for k, v in entry.items()}


def _fill(entry: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """Put a factory's captured values into the entry's strings (``{region}`` -> ``emea``)."""
    if not values:
        return entry

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            for key, captured in values.items():
                value = value.replace("{" + key + "}", captured)
            return value
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    return {k: fill(v) for k, v in entry.items()}
