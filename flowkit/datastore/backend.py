"""How :class:`~flowkit.datastore.storage.ByteStorage` reaches a store that is not a local folder.

:class:`RemoteBackend` implements the storage primitives with fsspec's generic filesystem API
only, so any fsspec URL whose filesystem can open, read, list and delete files works
(``memory://``, ``gcs://``, ``az://`` ...). A store that can do better than the generic path
(atomic conditional writes, parallel ranged transfers, its own error messages) gets a subclass,
registered by URL scheme in :data:`BACKENDS` and imported only when a root of that scheme is
opened, with an install hint when its library is missing.

Filesystem objects are created per process. Async fsspec filesystems (s3fs, gcsfs) run an event
loop on a thread that a forked child does not inherit, and fsspec refuses to use such an object
after a fork ("This class is not fork-safe"), so a child that touches the store gets a new one.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

import fsspec

from flowkit.errors import (
    DatastoreAccessDenied,
    DatastoreError,
    EndpointUnreachable,
)

if TYPE_CHECKING:
    from flowkit.settings import Settings

# Big enough that per-call overhead vanishes, small enough that a consumer of the chunks (the
# content store's hashing) overlaps most of the read.
READ_CHUNK = 8 << 20

#: URL scheme -> (module, class, what to install). Imported on first use of the scheme.
BACKENDS: dict[str, tuple[str, str, str]] = {
    "s3": ("flowkit.datastore.s3", "S3Backend", "pip install 'flowkit[s3]'"),
    "s3a": ("flowkit.datastore.s3", "S3Backend", "pip install 'flowkit[s3]'"),
}

# Filesystems created before a fork, kept alive in the child and never used again: dropping them
# would run their finalizers, which try to close connections on an event loop that did not
# survive the fork (and wait for it).
_INHERITED: list[Any] = []


class RemoteBackend:
    """The storage primitives over one fsspec filesystem, for paths that include the root.

    Args:
        root: The datastore root URL, e.g. ``memory://team/flowkit``.
        settings: Configuration for backends that need some (endpoints, retries); ``None``
            reads it when needed.

    Attributes:
        protocol: The URL scheme, e.g. ``"memory"``.
        base: The root as a path of the filesystem, without a trailing ``/``.
        concurrency: Requests worth having in flight at once on this store.
    """

    concurrency = 8

    def __init__(self, root: str, settings: Settings | None = None) -> None:
        self.protocol = _protocol(root)
        self._settings = settings
        self._fs_class = fsspec.get_filesystem_class(self.protocol)
        self._url_options: dict[str, Any] = self._fs_class._get_kwargs_from_urls(root)
        self.base: str = self._fs_class._strip_protocol(root).rstrip("/")
        self._fs: Any = None
        self._pid = -1

    @property
    def fs(self) -> Any:
        """The filesystem of this process, created on first use (again after a fork)."""
        if self._pid != os.getpid():
            if self._fs is not None:
                _INHERITED.append(self._fs)
            self._fs = self._open_filesystem()
            self._pid = os.getpid()
        return self._fs

    def _open_filesystem(self) -> Any:
        """Create this process's filesystem."""
        return self._fs_class(**self._url_options)

    def url(self, path: str) -> str:
        """The URL of a path of this filesystem."""
        return str(self.fs.unstrip_protocol(path))

    # -- primitives ------------------------------------------------------------------------

    def write(self, path: str, views: list[memoryview], exclusive: bool) -> bool:
        """Store ``views`` (concatenated) at ``path``; see :meth:`ByteStorage.write`."""
        if exclusive and self.exists(path):
            # Check-then-write is only race-free for single-process stores such as memory://.
            # Backends of shared stores override this with an atomic conditional write.
            return False
        # With autocommit off, buffered writers publish the object only on commit(), and
        # discard() drops it, so a failed write leaves nothing behind.
        f = self.fs.open(path, "wb", autocommit=False)
        try:
            for view in views:
                f.write(view)
        except BaseException:
            with suppress(Exception):
                f.discard()
            raise
        f.close()
        f.commit()
        return True

    def write_stream(self, path: str, chunks: Iterable[memoryview]) -> None:
        """Store ``chunks`` (concatenated, read one at a time) at ``path``; see
        :meth:`ByteStorage.write_stream`. Buffered fsspec writers upload in parts as they go."""
        f = self.fs.open(path, "wb", autocommit=False)
        try:
            for chunk in chunks:
                f.write(chunk)
        except BaseException:
            with suppress(Exception):
                f.discard()
            raise
        f.close()
        f.commit()

    def write_new(self, path: str, views: list[memoryview]) -> bool:
        """Store an immutable object unless it exists; see :meth:`ByteStorage.write_new`."""
        if self.exists(path):
            return False
        return self.write(path, views, False)

    def read(self, path: str, on_chunk: Callable[[memoryview], object] | None) -> bytearray:
        """The whole object at ``path``; raises ``FileNotFoundError`` when there is none."""
        with self.fs.open(path, "rb") as f:
            size = getattr(f, "size", None)
            size = self.fs.size(path) if size is None else size
            return read_exactly(f, size, path, on_chunk)

    def exists(self, path: str) -> bool:
        """Whether an object (not a folder) is stored at ``path``."""
        return bool(self.fs.isfile(path))

    def list(self, path: str, *, files_only: bool) -> list[str]:
        """Names of the children of ``path`` (only objects with ``files_only``); ``[]`` if none."""
        try:
            entries = self.fs.ls(path, detail=True)
        except (FileNotFoundError, NotADirectoryError):
            return []
        names = []
        for entry in entries:
            name = entry["name"].rstrip("/")
            if name == path or (files_only and entry.get("type") != "file"):
                continue
            names.append(name.rpartition("/")[2])
        return names

    def size(self, path: str) -> int:
        """Size of the object at ``path``; raises ``FileNotFoundError`` when there is none."""
        info = self.fs.info(path)
        if info.get("type") != "file":
            raise FileNotFoundError(path)
        return int(info["size"])

    def delete(self, path: str) -> None:
        """Remove the object at ``path``; raises ``FileNotFoundError`` when there is none."""
        # Object stores answer a delete of a missing key with success, so ask first.
        if not self.exists(path):
            raise FileNotFoundError(path)
        self.fs.rm_file(path)

    def check(self) -> None:
        """Fail early, with a message saying what to fix, if the store cannot be used.

        Raises:
            DatastoreUnavailable: A subclass naming the problem.
        """
        with self.errors(self.url(self.base)):
            self.list(self.base, files_only=False)

    # -- errors ----------------------------------------------------------------------------

    @contextmanager
    def errors(self, url: str) -> Iterator[None]:
        """Turn the library's exceptions into :class:`DatastoreError` subclasses.

        ``FileNotFoundError`` and friends pass through: callers turn them into
        :class:`~flowkit.errors.ObjectNotFound` with the key.
        """
        try:
            yield
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, DatastoreError):
            raise
        except Exception as exc:
            error = self.translate(exc, url)
            if error is None:
                raise
            raise error from exc

    def translate(self, exc: Exception, url: str) -> DatastoreError | None:
        """The :class:`DatastoreError` that explains ``exc``, or ``None`` to let it propagate."""
        if isinstance(exc, PermissionError):
            return DatastoreAccessDenied(
                f"access to {url} was denied ({exc})",
                hint="use credentials that may read, write and list the datastore root",
            )
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return EndpointUnreachable(
                f"the datastore {url} did not answer ({exc})",
                hint="check the network and that the storage service is up, then resume the run",
            )
        if isinstance(exc, OSError):
            return DatastoreError(f"the datastore {url} failed: {exc}")
        return None


def open_backend(root: str, settings: Settings | None = None) -> RemoteBackend:
    """The backend for a non-local root URL, importing its module on first use.

    Raises:
        DatastoreError: The scheme is unknown, or the library it needs is not installed (the
            message says what to install).
    """
    protocol = _protocol(root)
    module_name, class_name, install = BACKENDS.get(protocol, ("", "", ""))
    try:
        if not module_name:
            return RemoteBackend(root, settings)
        backend: type[RemoteBackend] = getattr(importlib.import_module(module_name), class_name)
        return backend(root, settings)
    except ImportError as exc:
        hint = install or f"install the fsspec implementation of {protocol}://"
        raise DatastoreError(
            f"the datastore {root} needs a library that is not installed ({exc})", hint=hint
        ) from exc
    except ValueError as exc:  # fsspec: "Protocol not known"
        raise DatastoreError(
            f"the datastore root {root} uses an unknown URL scheme {protocol!r}",
            hint="use a folder, or an fsspec URL such as s3://bucket/prefix or memory://name",
        ) from exc


def read_exactly(
    f: Any, size: int, key: str, on_chunk: Callable[[memoryview], object] | None
) -> bytearray:
    """Read ``size`` bytes from the file ``f`` into a new buffer, feeding ``on_chunk``.

    Raises:
        DatastoreError: The file ended early (it changed while being read).
    """
    buf = bytearray(size)
    view = memoryview(buf)
    step = READ_CHUNK if on_chunk else max(size, 1)
    filled = 0
    while filled < size:
        count = f.readinto(view[filled : filled + step])
        if not count:
            raise DatastoreError(
                f"the object {key} ended after {filled} of its {size} bytes; "
                "it changed while being read"
            )
        if on_chunk:
            on_chunk(view[filled : filled + count])
        filled += count
    return buf


def _protocol(root: str) -> str:
    protocol, _ = fsspec.core.split_protocol(root)
    return protocol or "file"
