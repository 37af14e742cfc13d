"""The model and data registry: named, numbered, immutable versions of artifacts.

It lives in the datastore beside the runs (local folder or S3, no server):

* :mod:`~flowkit.modelreg.records` — version records and log events, their keys and names.
* :mod:`~flowkit.modelreg.store` — :class:`Registry`: versions, aliases moved by
  compare-and-swap over an append-only log, history, rollback, tags.
* :mod:`~flowkit.modelreg.drafts` — building a version from the producing task's records.
* :mod:`~flowkit.modelreg.stepreg` — ``current.registry`` inside a running task.
* :mod:`~flowkit.modelreg.errors` — what can go wrong, with hints.

Notebooks use :class:`flowkit.Model` and :class:`flowkit.Dataset` (``flowkit.client.models``);
the terminal uses ``flowkit registry ...``.
"""

from flowkit.modelreg.errors import (
    AliasConflict,
    InvalidRegistryName,
    ModelNotFound,
    RegistryError,
    VersionNotFound,
)
from flowkit.modelreg.records import ModelVersion, RegistryEvent
from flowkit.modelreg.store import ANY, Registry

__all__ = [
    "ANY",
    "AliasConflict",
    "InvalidRegistryName",
    "ModelNotFound",
    "ModelVersion",
    "Registry",
    "RegistryError",
    "RegistryEvent",
    "VersionNotFound",
]
