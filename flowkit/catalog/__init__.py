"""The data catalog: datasets named in ``catalog.toml``, loaded and saved from steps by name.

``self.catalog.load("orders")`` reads wherever the profile in force says ``orders`` lives (a
local CSV, parquet on S3, a PostgreSQL table), with credentials resolved at the moment of use
and never stored; each load and save is recorded in the task's lineage.

Modules: :mod:`~flowkit.catalog.config` (the file, profiles, factories),
:mod:`~flowkit.catalog.secrets` (credentials), :mod:`~flowkit.catalog.files` and
:mod:`~flowkit.catalog.sql` (the dataset types), :mod:`~flowkit.catalog.tables` (hashes,
schema checks), :mod:`~flowkit.catalog.session` (``self.catalog``).
"""

from flowkit.catalog.config import TYPES, CatalogConfig, DatasetSpec
from flowkit.catalog.errors import (
    CatalogError,
    DatasetUnreachable,
    MissingCredential,
    SchemaMismatch,
    UnknownDataset,
    UnknownDatasetType,
    UnknownProfile,
)
from flowkit.catalog.secrets import Secret
from flowkit.catalog.session import TaskCatalog, open_catalog

__all__ = [
    "TYPES",
    "CatalogConfig",
    "CatalogError",
    "DatasetSpec",
    "DatasetUnreachable",
    "MissingCredential",
    "SchemaMismatch",
    "Secret",
    "TaskCatalog",
    "UnknownDataset",
    "UnknownDatasetType",
    "UnknownProfile",
    "open_catalog",
]
