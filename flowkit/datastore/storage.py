"""Byte-level storage: named immutable objects under one root URL, on any backend.

:class:`ByteStorage` checks keys, accepts data as parts, turns a backend's missing objects into
:class:`~flowkit.errors.ObjectNotFound` and its library errors into
:class:`~flowkit.errors.DatastoreError` subclasses, and batches existence checks. Everything
above it (content-addressed blobs, manifests, run records) is expressed as reads and writes of
whole objects under ``/``-separated keys. It holds a
:class:`~flowkit.datastore.backend.StorageBackend` and never asks which one:
:func:`open_backend` picks it from the root URL's scheme.
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import IO, TYPE_CHECKING, Any, TypeAlias

import fsspec

from flowkit.datastore.backend import StorageBackend
from flowkit.errors import DatastoreError, FlowkitError, ObjectNotFound

if TYPE_CHECKING:
    from flowkit.settings import Settings

BytesLike: TypeAlias = bytes | bytearray | memoryview
"""What a part of an object may be: anything exposing a contiguous byte buffer."""

# Above this many keys under one parent, one listing is cheaper than a request per key on an
# object store (S3 LIST returns up to 1000 names for the price of one HEAD).
_LIST_INSTEAD_OF_STAT = 8

#: Backends of flowkit's own schemes, used when no ``datastore.<scheme>`` entry point is
#: installed (a source checkout on ``PYTHONPATH``): scheme -> (module, class).
BUILTIN_BACKENDS: dict[str, tuple[str, str]] = {
    "file": ("flowkit.datastore.local", "LocalBackend"),
    "local": ("flowkit.datastore.local", "LocalBackend"),
    "s3": ("flowkit.datastore.s3", "S3Backend"),
    "s3a": ("flowkit.datastore.s3", "S3Backend"),
}
_GENERIC = ("flowkit.datastore.generic", "FsspecBackend")


def open_backend(root: str, settings: Settings | None = None) -> StorageBackend:
    """The backend for a root URL (or local path), chosen by the URL's scheme.

    The ``datastore.<scheme>`` entry point of the ``flowkit.plugins`` group names the backend
    class (flowkit's own: ``file``, ``local``, ``s3``, ``s3a``); any other scheme that fsspec
    knows uses the generic fsspec backend. The class is called with ``(root, settings)``.

    Raises:
        DatastoreError: The scheme is unknown, or the library it needs is not installed (the
            hint says what to install).
    """
    import importlib

    from flowkit.registry import PluginError, registry

    protocol, _ = fsspec.core.split_protocol(root)
    scheme = protocol or "file"
    backend_class: Any = None
    try:
        if scheme in registry().names("datastore"):
            backend_class = registry().get("datastore", scheme)
        else:
            module, name = BUILTIN_BACKENDS.get(scheme, _GENERIC)
            backend_class = getattr(importlib.import_module(module), name)
        return backend_class(root, settings)
    except PluginError as exc:
        raise DatastoreError(
            f"the datastore {root} needs a backend that cannot be loaded: {exc.message}",
            hint=exc.hint,
        ) from exc
    except FlowkitError:
        raise
    except ImportError as exc:
        hint = getattr(backend_class, "install_hint", "") or (
            f"install the fsspec implementation of {scheme}://"
        )
        raise DatastoreError(
            f"the datastore {root} needs a library that is not installed ({exc})", hint=hint
        ) from exc
    except ValueError as exc:  # fsspec: "Protocol not known"
        raise DatastoreError(
            f"the datastore root {root} uses an unknown URL scheme {scheme!r}",
            hint="use a folder, an fsspec URL such as s3://bucket/prefix or memory://name, or "
            "install the plugin that provides the scheme (entry point "
            f"'datastore.{scheme}' in the 'flowkit.plugins' group)",
        ) from exc


class ByteStorage:
    """Whole-object reads and writes under one root URL.

    Args:
        root: A local path or a URL whose scheme has a backend (``file://``, ``s3://``, any
            fsspec URL such as ``memory://``, or a plugin's), or a backend object.
        settings: Configuration for backends that need it (S3 endpoint, retries); read from
            the environment and config file when omitted.

    Attributes:
        root: The normalized URL of the root, e.g. ``file:///home/me/.flowkit``.
        backend: The :class:`~flowkit.datastore.backend.StorageBackend` holding the objects.

    Raises:
        DatastoreError: The URL scheme is unknown or needs a library that is not installed.
    """

    def __init__(self, root: str | StorageBackend, settings: Settings | None = None) -> None:
        self.backend: StorageBackend = (
            open_backend(root, settings) if isinstance(root, str) else root
        )
        self.root: str = self.backend.root.rstrip("/")

    def __repr__(self) -> str:
        return f"ByteStorage({self.root!r})"

    @property
    def is_local(self) -> bool:
        """Whether the objects are files on this machine's filesystem."""
        return bool(self.backend.local)

    @property
    def concurrency(self) -> int:
        """Requests worth having in flight at once on this store (1: threads do not help)."""
        return max(1, int(self.backend.concurrency))

    @property
    def fs(self) -> Any:
        """The fsspec filesystem behind the backend, for code that needs fsspec's own API.

        Raises:
            DatastoreError: The backend is not built on fsspec.
        """
        fs = getattr(self.backend, "fs", None)
        if fs is None:
            raise DatastoreError(f"the datastore {self.root} has no fsspec filesystem")
        return fs

    def check(self) -> None:
        """Make sure the datastore can be used, before anything is run against it.

        Local roots are created. Remote roots cost one cheap request (a listing of at most
        one name), which finds a missing bucket, refused or missing credentials and an
        unreachable endpoint.

        Raises:
            DatastoreUnavailable: A subclass that says what is wrong and what to fix.
        """
        self.backend.check()

    def url(self, key: str) -> str:
        """Return the full URL of ``key``, for messages shown to users."""
        return f"{self.root}/{key}" if key else self.root

    # -- writing ---------------------------------------------------------------------------

    def write(
        self, key: str, data: BytesLike | Sequence[BytesLike], *, exclusive: bool = False
    ) -> bool:
        """Store ``data`` under ``key`` so that no reader ever sees a partial object.

        Args:
            key: ``/``-separated relative name of the object.
            data: The bytes, or a sequence of parts written one after the other (never joined
                in memory, so large out-of-band buffers are not copied).
            exclusive: Only create the object if ``key`` does not exist yet. Two concurrent
                exclusive writers of one key cannot both succeed (on S3: a conditional write,
                ``If-None-Match: *``).

        Returns:
            ``True`` when the object was written, ``False`` when ``exclusive`` was set and the
            key already existed (or, on a server without conditional writes, another writer
            was creating it at the same moment).

        Raises:
            DatastoreError: ``key`` is not a valid relative key.
            TypeError: A part does not expose a contiguous byte buffer.
        """
        self._check_key(key)
        views = _views(data)
        with self.backend.errors(self.url(key)):
            return self.backend.write(key, views, exclusive)

    def write_stream(self, key: str, source: IO[bytes], chunk_size: int = 8 << 20) -> None:
        """Store what remains to be read from ``source`` under ``key``, a chunk at a time.

        For objects that may be larger than memory (a task's log, spooled to a temporary
        file): the backend holds at most a few chunks at once. Like :meth:`write`, no reader
        ever sees a partial object.
        """
        self._check_key(key)
        chunks = (memoryview(chunk) for chunk in iter(lambda: source.read(chunk_size), b""))
        with self.backend.errors(self.url(key)):
            self.backend.write_stream(key, chunks)

    def write_new(self, key: str, data: BytesLike | Sequence[BytesLike]) -> bool:
        """Store an immutable object unless one is already stored under ``key``.

        For keys that name their content (a hash): every writer of ``key`` writes the same
        bytes, so unlike ``exclusive`` no single winner is needed, and each backend takes its
        cheapest way to skip an existing object (a ``stat`` on a folder; on S3 one conditional
        PUT, or a HEAD before a large upload).

        Returns:
            ``True`` when this call stored the object, ``False`` when it was already there.
        """
        self._check_key(key)
        views = _views(data)
        with self.backend.errors(self.url(key)):
            return self.backend.write_new(key, views)

    # -- reading ---------------------------------------------------------------------------

    def read(
        self, key: str, *, on_chunk: Callable[[memoryview], object] | None = None
    ) -> bytearray:
        """Return the whole object stored under ``key``.

        The result is a fresh, writable ``bytearray`` filled in place, so callers can hand
        slices of it to consumers (``pickle.loads(buffers=...)``) without another copy.

        Args:
            key: The object's key.
            on_chunk: Called with each consecutive filled slice of the result as soon as it has
                been read, so the caller can work on it (e.g. hash it) while the rest is read.

        Raises:
            ObjectNotFound: No object is stored under ``key``.
        """
        self._check_key(key)
        try:
            with self.backend.errors(self.url(key)):
                return self.backend.read(key, on_chunk)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise self._not_found(key) from exc

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        self._check_key(key)
        with self.backend.errors(self.url(key)):
            return self.backend.exists(key)

    def exists_many(self, keys: Iterable[str]) -> set[str]:
        """Return the subset of ``keys`` that are stored.

        Keys that share a parent are answered with one listing when there are many of them;
        the remaining keys are checked concurrently on stores where that helps.
        """
        wanted = list(dict.fromkeys(keys))
        by_parent: dict[str, list[str]] = defaultdict(list)
        for key in wanted:
            self._check_key(key)
            by_parent[key.rpartition("/")[0]].append(key)
        found: set[str] = set()
        singles: list[str] = []
        for parent, group in by_parent.items():
            if len(group) < _LIST_INSTEAD_OF_STAT:
                singles.extend(group)
                continue
            present = set(self._list(parent, files_only=True))
            found.update(key for key in group if key.rpartition("/")[2] in present)
        if len(singles) < 2 or self.concurrency < 2:
            found.update(key for key in singles if self.exists(key))
            return found
        with ThreadPoolExecutor(min(self.concurrency, len(singles))) as pool:
            answers = pool.map(self.exists, singles)
            found.update(key for key, there in zip(singles, answers, strict=True) if there)
        return found

    def list(self, prefix: str = "") -> list[str]:
        """Return the sorted names of the immediate children of ``prefix`` (objects or folders).

        Returns ``[]`` when nothing is stored under ``prefix``.
        """
        if prefix:
            self._check_key(prefix)
        return sorted(self._list(prefix, files_only=False))

    # builtins.list: inside the class body, 'list' is the method above.
    def _list(self, prefix: str, *, files_only: bool) -> builtins.list[str]:
        with self.backend.errors(self.url(prefix)):
            return self.backend.list(prefix, files_only=files_only)

    def size(self, key: str) -> int:
        """Return the size in bytes of the object under ``key``.

        Raises:
            ObjectNotFound: No object is stored under ``key``.
        """
        self._check_key(key)
        try:
            with self.backend.errors(self.url(key)):
                return self.backend.size(key)
        except FileNotFoundError as exc:
            raise self._not_found(key) from exc

    def delete(self, key: str) -> None:
        """Remove the object under ``key``.

        Raises:
            ObjectNotFound: No object is stored under ``key``.
        """
        self._check_key(key)
        try:
            with self.backend.errors(self.url(key)):
                self.backend.delete(key)
        except FileNotFoundError as exc:
            raise self._not_found(key) from exc

    def move(self, key: str, new_key: str) -> None:
        """Move the object under ``key`` to ``new_key`` (replacing what is there).

        Used to set damaged objects aside, which is rare: a rename on a folder, a copy and a
        delete on object stores.

        Raises:
            ObjectNotFound: No object is stored under ``key``.
        """
        self._check_key(key)
        self._check_key(new_key)
        try:
            with self.backend.errors(self.url(key)):
                self.backend.move(key, new_key)
        except FileNotFoundError as exc:
            raise self._not_found(key) from exc

    # -- helpers ---------------------------------------------------------------------------

    def _check_key(self, key: str) -> None:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") for part in parts):
            raise DatastoreError(
                f"invalid datastore key {key!r}: keys are relative names such as 'a/b/c', "
                "without empty, '.' or '..' parts"
            )

    def _not_found(self, key: str) -> ObjectNotFound:
        return ObjectNotFound(f"no object is stored at {self.url(key)}")


def _views(data: BytesLike | Sequence[BytesLike]) -> list[memoryview]:
    raw = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
    # Converting up front makes a bad part fail before anything is written.
    return [memoryview(part).cast("B") for part in raw]
