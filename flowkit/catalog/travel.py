"""The catalog a run records, so its tasks read the same catalog wherever and whenever they run.

When a run starts, the catalog file in force (``--catalog``, ``FLOWKIT_CATALOG`` or
``catalog.toml`` next to the flow) is read once, checked (the profile exists, no location holds
a password) and stored with the run: its bytes as a blob, the profile and the folder relative
locations resolve against in the run record (:class:`~flowkit.datastore.manifest.CatalogChoice`).
Every task then builds its ``self.catalog`` from the record, not from its own settings, so a
Batch job, a ``--launcher spawn`` task and a resumed run use what the run was started with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flowkit.catalog.config import CATALOG_FILENAME, CatalogConfig, refuse_passwords
from flowkit.catalog.errors import CatalogFileError
from flowkit.catalog.toml import parse_toml
from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import CatalogChoice
from flowkit.settings import Settings

# Catalog bytes this process stored or read, by blob name: forked tasks find them here.
_KNOWN: dict[str, bytes] = {}


@dataclass(frozen=True)
class RunCatalog:
    """The catalog a run is about to record.

    Attributes:
        data: The catalog file's bytes.
        profile: The profile; ``None``: the catalog's defaults.
        path: The catalog file (for messages).
        base: The folder relative locations resolve against.
        profile_from: ``"run"`` or ``"origin"`` (kept from the resumed run).
        catalog_from: The same, for the file.
    """

    data: bytes
    profile: str | None
    path: str
    base: str
    profile_from: str = "run"
    catalog_from: str = "run"

    def store(self, store: FlowDatastore) -> CatalogChoice:
        """Store the bytes as a blob; return what the run record holds."""
        sha = store.content.put([self.data])
        _KNOWN[sha] = self.data
        return CatalogChoice(
            profile=self.profile,
            path=self.path,
            sha=sha,
            base=self.base,
            profile_from="origin" if self.profile_from == "origin" else "run",
            catalog_from="origin" if self.catalog_from == "origin" else "run",
        )


def catalog_for_run(flow_dir: Path, settings: Settings) -> RunCatalog | None:
    """The catalog a new run records: ``None`` when the flow has none and none was given.

    Raises:
        CatalogFileError: The catalog given is missing or malformed, or a location in it holds
            a password.
        UnknownProfile: The profile is not declared in it.
    """
    if settings.catalog:
        path = Path(settings.catalog).absolute()
    else:
        path = (flow_dir / CATALOG_FILENAME).absolute()
        if not path.is_file() and not settings.profile:
            return None
    if not path.is_file():
        raise CatalogFileError(
            f"no data catalog at {path}",
            hint=f"create {path.name} next to the flow, or pass --catalog PATH",
        )
    return _checked(path.read_bytes(), path, settings.profile, path.parent)


def catalog_for_resume(
    store: FlowDatastore,
    origin: CatalogChoice | None,
    flow_dir: Path,
    settings: Settings,
    *,
    profile_given: bool,
    catalog_given: bool,
) -> RunCatalog | None:
    """The catalog a resumed run records: the origin run's, but for what was given on resume.

    ``profile_given``/``catalog_given`` say whether ``--profile``/``--catalog`` were given to
    ``resume``; those win over the origin's. An origin that recorded no catalog (no catalog
    then, or recorded by an older flowkit) is resumed like a new run.

    Raises:
        CatalogFileError, UnknownProfile: As :func:`catalog_for_run`.
    """
    if origin is None:
        return catalog_for_run(flow_dir, settings)
    profile = settings.profile if profile_given else origin.profile
    if catalog_given and settings.catalog:
        path = Path(settings.catalog).absolute()
        if not path.is_file():
            raise CatalogFileError(f"no data catalog at {path}", hint="pass --catalog PATH")
        data, base = path.read_bytes(), path.parent
    else:
        path, base = Path(origin.path), Path(origin.base)
        data = read_catalog_blob(store, origin.sha)
    return _checked(
        data,
        path,
        profile,
        base,
        profile_from="run" if profile_given else "origin",
        catalog_from="run" if catalog_given else "origin",
    )


def _checked(
    data: bytes,
    path: Path,
    profile: str | None,
    base: Path,
    profile_from: str = "run",
    catalog_from: str = "run",
) -> RunCatalog:
    raw = parse_toml(data, path, "catalog")
    refuse_passwords(raw, path)
    CatalogConfig(raw, path, profile, base)  # a mistyped profile stops the run here
    return RunCatalog(data, profile, str(path), str(base), profile_from, catalog_from)


def read_catalog_blob(store: FlowDatastore, sha: str) -> bytes:
    """The recorded catalog's bytes (kept in this process once read)."""
    if sha not in _KNOWN:
        _KNOWN[sha] = bytes(store.content.get(sha))
    return _KNOWN[sha]


def recorded_config(
    store: FlowDatastore, choice: CatalogChoice, settings: Settings
) -> CatalogConfig:
    """The run's recorded catalog in its recorded profile, as a task reads it.

    Relative locations resolve against the setting ``catalog_base`` when it is set (a machine
    where the recorded folder does not exist), else against the recorded folder.

    Raises:
        CatalogFileError: The recorded blob is not a catalog.
        UnknownProfile: The recorded profile is not in it (cannot happen for a run flowkit
            started: both were checked together).
    """
    path = Path(choice.path)
    base = Path(settings.catalog_base) if settings.catalog_base else Path(choice.base)
    raw = parse_toml(read_catalog_blob(store, choice.sha), path, "catalog")
    return CatalogConfig(raw, path, choice.profile, base)


def store_deployed_catalog(store: FlowDatastore, catalog: RunCatalog) -> str:
    """For a deployer: store ``catalog`` (its bytes, then its record) and return the blob name
    of the record, which the deployed start task turns into its run's ``catalog`` field."""
    from dataclasses import asdict

    from flowkit.datastore.recordjson import dump

    return store.content.put([dump(asdict(catalog.store(store)))])


def read_deployed_catalog(store: FlowDatastore, sha: str) -> CatalogChoice:
    """The catalog record stored by :func:`store_deployed_catalog`.

    Raises:
        CorruptObject: The blob is not a catalog record.
        KeyError: The datastore holds no blob ``sha``.
    """
    from flowkit.datastore.recordjson import build, load

    return build(CatalogChoice, load(bytes(store.content.get(sha)), "deployed catalog record"))
