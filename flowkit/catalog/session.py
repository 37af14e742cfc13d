"""``self.catalog`` inside a step: load and save datasets by name, and record their lineage.

The runtime builds one :class:`TaskCatalog` per task and binds it to the flow object; the
catalog file is read on first use only, so a flow that never touches ``self.catalog`` pays
nothing. Every load and save appends a :class:`~flowkit.datastore.manifest.LineageRecord`;
the runtime writes them into the task's manifest, failed tasks included.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowkit.catalog import files, parquet, sql
from flowkit.catalog.config import CATALOG_FILENAME, SQL_TYPES, CatalogConfig, DatasetSpec
from flowkit.catalog.errors import DatasetIOError
from flowkit.catalog.secrets import Secret, resolve_credential
from flowkit.catalog.tables import check_schema, schema_hash
from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import CatalogChoice, ForeachFrame, LineageRecord
from flowkit.settings import load_settings, redact_url

OriginLineage = Callable[[], list[LineageRecord]]


def open_catalog(
    catalog_path: str | Path | None = None,
    profile: str | None = None,
    *,
    near: Path | None = None,
) -> CatalogConfig:
    """Read the catalog in a profile; unset arguments come from the settings.

    Args:
        catalog_path: The catalog file (``--catalog``); default: setting ``catalog``, else
            ``catalog.toml`` in ``near`` (the flow's folder) or the current directory.
        profile: The profile (``--profile``); default: setting ``profile`` (``FLOWKIT_PROFILE``).
        near: The folder to look for ``catalog.toml`` in.

    Raises:
        CatalogFileError: The file is missing or malformed.
        UnknownProfile: The profile is not declared.
    """
    settings = load_settings()
    chosen = catalog_path or settings.catalog
    path = Path(chosen) if chosen else (near or Path.cwd()) / CATALOG_FILENAME
    return CatalogConfig.from_file(path.absolute(), profile or settings.profile)


class TaskCatalog:
    """The data catalog as a step sees it (``self.catalog``).

    Args:
        flow_dir: The flow file's folder, where ``catalog.toml`` is looked for.
        store: The flow's datastore, where snapshots go.
        origin_lineage: In a resumed run, returns the lineage of the same task in the origin
            run, whose snapshots loads read instead of the live data.
        recorded: The catalog and profile recorded with the run: when given (with ``store``),
            they are used instead of this process's settings and files.
    """

    def __init__(
        self,
        flow_dir: Path | None = None,
        store: FlowDatastore | None = None,
        origin_lineage: OriginLineage | None = None,
        recorded: CatalogChoice | None = None,
    ) -> None:
        self._flow_dir = flow_dir
        self._store = store
        self._origin_lineage = origin_lineage
        self._recorded = recorded
        self._config: CatalogConfig | None = None
        self.lineage: list[LineageRecord] = []

    @property
    def config(self) -> CatalogConfig:
        """The catalog file in the run's profile, read on first use."""
        if self._config is None:
            if self._recorded is not None and self._store is not None:
                from flowkit.catalog.travel import recorded_config

                self._config = recorded_config(self._store, self._recorded, load_settings())
            else:
                self._config = open_catalog(near=self._flow_dir)
        return self._config

    @property
    def profile(self) -> str:
        """The profile in force (``"default"`` when none was chosen)."""
        return self.config.profile

    def names(self) -> list[str]:
        """The datasets and factory patterns of the catalog."""
        return self.config.names()

    def describe(self, name: str) -> dict[str, Any]:
        """What ``name`` resolves to in the run's profile (it holds no secret)."""
        return self.config.resolve(name).describe()

    def load(self, name: str, *, snapshot: bool | None = None) -> Any:
        """Read dataset ``name``: a DataFrame for tables, ``str``, ``bytes`` or an object else.

        Args:
            name: The dataset, or a name a dataset factory matches (``"emea_orders"``).
            snapshot: Keep a copy of what was read in the datastore (default: the dataset's
                ``snapshot`` setting). In a resumed run a snapshot of the origin run is read
                instead of the live data.

        Raises:
            CatalogError: The dataset is unknown, unreachable or unreadable; the message
                names it and the profile.
        """
        spec = self.config.resolve(name)
        keep = spec.snapshot if snapshot is None else snapshot
        if keep:
            earlier = self._origin_snapshot(spec)
            if earlier is not None:
                return self._read_snapshot(spec, earlier)
        credential = self._credential(spec)
        rows = schema = blob = None
        if spec.type in SQL_TYPES:
            value, digest = sql.load_frame(spec, credential)
            if keep:
                blob = self._keep(_parquet(value))
        elif spec.type == "parquet":
            # decoded from a file, never held whole in memory (it may be big)
            with files.local_file(spec, credential) as (path, digest):
                value = parquet.read_frame(path, spec.load_options)
                if keep:
                    blob = self._keep_file(path)
        else:
            data = files.read_bytes(spec, credential)
            digest = files.content_hash(data)
            value = files.decode(spec, data)
            if keep:
                blob = self._keep(data)
            del data
        if spec.is_table:
            rows, schema = len(value), schema_hash(value)
        self._record(spec, "load", digest, rows, schema, blob)
        return value

    def save(self, name: str, data: Any) -> None:
        """Write ``data`` as dataset ``name`` (a DataFrame for tables).

        Raises:
            SchemaMismatch: The dataset declares a schema ``data`` does not have.
            CatalogError: The dataset is unknown, unreachable or not writable.
        """
        spec = self.config.resolve(name)
        check_schema(spec, data)
        credential = self._credential(spec)
        rows = schema = None
        if spec.type in SQL_TYPES:
            if not hasattr(data, "to_sql"):
                raise DatasetIOError(
                    f"{spec.where} is a table: save a pandas DataFrame, not a "
                    f"{type(data).__name__}",
                    hint="build a DataFrame (pandas.DataFrame(...)) before saving",
                )
            digest = sql.save_frame(spec, data, credential)
        else:
            digest = files.save_value(spec, data, credential)
        if spec.is_table:
            rows, schema = len(data), schema_hash(data)
        self._record(spec, "save", digest, rows, schema, None)

    def close(self) -> None:
        """Release the task's database connections."""
        sql.dispose_engines()

    # -- internals -----------------------------------------------------------------------------

    def _credential(self, spec: DatasetSpec) -> dict[str, Secret] | None:
        if not spec.credential:
            return None
        return resolve_credential(
            spec.credential,
            self.config.credential_declaration(spec.credential),
            dataset=spec.name,
            profile=spec.profile,
            credentials_file=load_settings().credentials_file,
        )

    def _record(
        self,
        spec: DatasetSpec,
        mode: str,
        digest: str,
        rows: int | None,
        schema: str | None,
        blob: str | None,
    ) -> None:
        self.lineage.append(
            LineageRecord(
                dataset=spec.name,
                type=spec.type,
                location=redact_url(
                    files.file_url(spec) if spec.type not in SQL_TYPES else spec.shown_location
                ),
                profile=spec.profile,
                mode="load" if mode == "load" else "save",
                content_hash=digest,
                rows=rows,
                schema_hash=schema,
                snapshot=blob,
            )
        )

    def _keep(self, data: bytes) -> str | None:
        if self._store is None:
            return None
        return self._store.content.put([data])

    def _keep_file(self, path: str) -> str | None:
        if self._store is None:
            return None
        return self._store.content.put_file(path)

    def _origin_snapshot(self, spec: DatasetSpec) -> LineageRecord | None:
        if self._origin_lineage is None or self._store is None:
            return None
        for record in self._origin_lineage():
            if record.dataset == spec.name and record.mode == "load" and record.snapshot:
                return record
        return None

    def _read_snapshot(self, spec: DatasetSpec, record: LineageRecord) -> Any:
        assert self._store is not None and record.snapshot is not None
        data = bytes(self._store.content.get(record.snapshot))
        if spec.type in SQL_TYPES:
            import pandas as pd

            value = pd.read_parquet(io.BytesIO(data))
        else:
            value = files.decode(spec, data)
        # the same data as the origin read: its lineage, under this run's profile
        self.lineage.append(
            LineageRecord(
                dataset=record.dataset,
                type=record.type,
                location=record.location,
                profile=spec.profile,
                mode="load",
                content_hash=record.content_hash,
                rows=record.rows,
                schema_hash=record.schema_hash,
                snapshot=record.snapshot,
            )
        )
        return value


def _parquet(frame: Any) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def origin_lineage(
    store: FlowDatastore, run_id: str, step: str, foreach: list[ForeachFrame], iteration: int
) -> OriginLineage:
    """The lineage of the task of ``run_id`` at the same place (step, splits, pass), read on
    first call (only a load with a snapshot asks)."""
    found: list[list[LineageRecord]] = []

    def read() -> list[LineageRecord]:
        if not found:
            place = [(f.step, f.index) for f in foreach]
            lineage: list[LineageRecord] = []
            for task_id in store.tasks(run_id, step):
                manifest = store.read_manifest(run_id, step, task_id)
                where = [(f.step, f.index) for f in manifest.foreach_stack]
                if where == place and manifest.iteration == iteration:
                    lineage = manifest.lineage
                    break
            found.append(lineage)
        return found[0]

    return read
