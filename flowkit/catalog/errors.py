"""The errors of the data catalog: each names the dataset and the profile it was resolved in."""

from __future__ import annotations

from flowkit.errors import FlowkitError


class CatalogError(FlowkitError):
    """A dataset cannot be resolved, reached, read or written."""

    exit_code = 2
    headline = "data catalog error"


class CatalogFileError(CatalogError):
    """The catalog file is missing or malformed."""


class UnknownProfile(CatalogError, KeyError):
    """The profile asked for (``--profile``, ``FLOWKIT_PROFILE``) is not in the catalog."""


class UnknownDataset(CatalogError, KeyError):
    """No dataset and no dataset factory matches the name."""


class UnknownDatasetType(CatalogError):
    """A dataset's ``type`` is not one the catalog knows."""


class MissingCredential(CatalogError):
    """A credential the dataset names cannot be found where it says it lives."""


class DatasetUnreachable(CatalogError):
    """The server holding a dataset cannot be reached (or refused the connection)."""


class SchemaMismatch(CatalogError):
    """The data saved does not have the columns and types the dataset declares."""


class DatasetIOError(CatalogError):
    """Reading or writing a dataset failed (a missing file, a query the database refused)."""
