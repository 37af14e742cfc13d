"""Any fsspec URL: the storage primitives over fsspec's generic filesystem API.

Every filesystem that can open, read, list and delete files works (``memory://``, ``gcs://``,
``az://`` ...). A store that can do better than the generic path (atomic conditional writes,
parallel ranged transfers, its own error messages) gets its own backend, registered for its
URL scheme (``datastore.<scheme>`` entry point), as S3 does.

Filesystem objects are created per process. Async fsspec filesystems (s3fs, gcsfs) run an event
loop on a thread that a forked child does not inherit, and fsspec refuses to use such an object
after a fork ("This class is not fork-safe"), so a child that touches the store gets a new one.
"""

from __future__ import annotations

import builtins
import os
import threading
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Any

import fsspec

from flowkit.datastore.backend import BackendBase, read_exactly
from flowkit.errors import (
    DatastoreAccessDenied,
    DatastoreError,
    EndpointUnreachable,
)

# Objects up to this size are written and read with one call (pipe_file / cat_file).
WHOLE_MAX = 32 << 20

# Filesystems created before a fork, kept alive in the child and never used again: dropping them
# would run their finalizers, which try to close connections on an event loop that did not
# survive the fork (and wait for it).
_INHERITED: list[Any] = []


class FsspecBackend(BackendBase):
    """The storage primitives over one fsspec filesystem.

    Args:
        root: The datastore root URL, e.g. ``memory://team/flowkit``.
        settings: Configuration for backends that need some (endpoints, retries); ``None``
            reads it when needed.

    Attributes:
        protocol: The URL scheme, e.g. ``"memory"``.
        base: The root as a path of the filesystem, without a trailing ``/``.
        concurrency: Requests worth having in flight at once on this store.

    Raises:
        ValueError: fsspec knows no filesystem for the URL's scheme.
        ImportError: The filesystem's library is not installed.
    """

    concurrency = 8

    def __init__(self, root: str, settings: object = None) -> None:
        protocol, _ = fsspec.core.split_protocol(root)
        self.protocol = protocol or "file"
        self._root_url = root
        self._fs, path = fsspec.core.url_to_fs(root)
        self._pid = os.getpid()
        self.base: str = path.rstrip("/")
        self._exclusive = threading.Lock()
        self.root = self.url(self.base)

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
        fs, _ = fsspec.core.url_to_fs(self._root_url)
        return fs

    def url(self, path: str) -> str:
        """The URL of a path of this filesystem."""
        return str(self.fs.unstrip_protocol(path))

    def _path(self, key: str) -> str:
        return f"{self.base}/{key}" if key else self.base

    # -- primitives ------------------------------------------------------------------------

    def write(self, key: str, views: list[memoryview], exclusive: bool) -> bool:
        """Store ``views`` (concatenated) at ``key``; see :meth:`StorageBackend.write`."""
        if exclusive:
            # Check-then-write under a lock is only race-free for single-process stores such as
            # memory://. Backends of shared stores override this with an atomic conditional
            # write.
            with self._exclusive:
                return not self.exists(key) and self.write(key, views, False)
        path = self._path(key)
        if sum(view.nbytes for view in views) <= WHOLE_MAX:
            # One call with the whole object: a single request on object stores, and an atomic
            # swap on memory://, whose writers are visible from the moment they are opened.
            self.fs.pipe_file(path, b"".join(views))
            return True
        self._write_committed(path, views)
        return True

    def write_stream(self, key: str, chunks: Iterable[memoryview]) -> None:
        """Store ``chunks`` (concatenated, read one at a time) at ``key``; buffered fsspec
        writers upload in parts as they go."""
        self._write_committed(self._path(key), chunks)

    def _write_committed(self, path: str, chunks: Iterable[memoryview]) -> None:
        """Write ``chunks`` to ``path`` and publish the object only once all are written."""
        # With autocommit off, buffered writers publish the object only on commit(), and
        # discard() drops it, so a failed write leaves nothing behind.
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

    def read(self, key: str, on_chunk: Callable[[memoryview], object] | None) -> bytearray:
        """The whole object at ``key``; raises ``FileNotFoundError`` when there is none."""
        path = self._path(key)
        size = self.size(key)
        if size <= WHOLE_MAX:
            # One call for the whole object (memory:// hands every reader the same file
            # object, so reading it in pieces would race with another reader).
            buf = bytearray(self.fs.cat_file(path))
            if on_chunk and buf:
                on_chunk(memoryview(buf))
            return buf
        with self.fs.open(path, "rb") as f:
            return read_exactly(f, size, key, on_chunk)

    def exists(self, key: str) -> bool:
        """Whether an object (not a folder) is stored at ``key``."""
        return bool(self.fs.isfile(self._path(key)))

    def list(self, prefix: str, *, files_only: bool) -> builtins.list[str]:
        """Names of the children of ``prefix`` (only objects with ``files_only``); ``[]`` if
        none."""
        path = self._path(prefix)
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

    def size(self, key: str) -> int:
        """Size of the object at ``key``; raises ``FileNotFoundError`` when there is none."""
        info = self.fs.info(self._path(key))
        if info.get("type") != "file":
            raise FileNotFoundError(key)
        return int(info["size"])

    def delete(self, key: str) -> None:
        """Remove the object at ``key``; raises ``FileNotFoundError`` when there is none."""
        # Object stores answer a delete of a missing key with success, so ask first.
        if not self.exists(key):
            raise FileNotFoundError(key)
        self.fs.rm_file(self._path(key))

    # -- errors ----------------------------------------------------------------------------

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
