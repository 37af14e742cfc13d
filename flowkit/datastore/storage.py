"""Byte-level storage: named immutable objects under one fsspec URL.

This is the only module of the datastore that knows about filesystems. Everything above it
(content-addressed blobs, manifests, run records) is expressed as reads and writes of whole
objects under ``/``-separated keys, so a new backend only has to behave here.

Local folders get a fast path that talks to ``os`` directly: atomic renames, hard-link claims and
``readinto`` are what make the local datastore both safe under concurrent runners and quick for
large artifacts. Every other URL goes through a :class:`~flowkit.datastore.backend.RemoteBackend`:
fsspec's generic API, or a subclass for a store that can do better (``s3://``).
"""

from __future__ import annotations

import builtins
import os
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import IO, TYPE_CHECKING, Any, TypeAlias

import fsspec

from flowkit.datastore.backend import RemoteBackend, open_backend, read_exactly
from flowkit.errors import DatastoreError, DatastoreWriteError, ObjectNotFound

if TYPE_CHECKING:
    from flowkit.settings import Settings

BytesLike: TypeAlias = bytes | bytearray | memoryview
"""What a part of an object may be: anything exposing a contiguous byte buffer."""

_TEMP_SUFFIX = ".tmp"
# Above this many keys under one parent, one listing is cheaper than a request per key on an
# object store (S3 LIST returns up to 1000 names for the price of one HEAD).
_LIST_INSTEAD_OF_STAT = 8
_LOCAL_PROTOCOLS = ("file", "local")


class ByteStorage:
    """Whole-object reads and writes under one root URL.

    Args:
        root: A local path or any fsspec URL (``file://``, ``memory://``, ``s3://`` ...).
        settings: Configuration for backends that need it (S3 endpoint, retries); read from
            the environment and config file when omitted.

    Attributes:
        root: The normalized URL of the root, e.g. ``file:///home/me/.flowkit``.

    Raises:
        DatastoreError: The URL scheme is unknown or needs a library that is not installed.
    """

    def __init__(self, root: str, settings: Settings | None = None) -> None:
        protocol, _ = fsspec.core.split_protocol(root)
        self._remote: RemoteBackend | None = None
        if (protocol or "file") in _LOCAL_PROTOCOLS:
            fs, path = fsspec.core.url_to_fs(root)
            self._local_fs: Any = fs
            self._base: str = path.rstrip("/")
            self.root: str = fs.unstrip_protocol(self._base)
        else:
            self._remote = open_backend(root, settings)
            self._base = self._remote.base
            self.root = self._remote.url(self._base)

    def __repr__(self) -> str:
        return f"ByteStorage({self.root!r})"

    @property
    def is_local(self) -> bool:
        """Whether the root is a folder on this machine's filesystem."""
        return self._remote is None

    @property
    def fs(self) -> Any:
        """The fsspec filesystem serving the root in this process."""
        return self._local_fs if self._remote is None else self._remote.fs

    def check(self) -> None:
        """Make sure the datastore can be used, before anything is run against it.

        Local roots are created. Remote roots cost one cheap request (a listing of at most
        one name), which finds a missing bucket, refused or missing credentials and an
        unreachable endpoint.

        Raises:
            DatastoreUnavailable: A subclass that says what is wrong and what to fix.
        """
        if self._remote is None:
            os.makedirs(self._base, exist_ok=True)
        else:
            self._remote.check()

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
        path = self._path(key)
        raw = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
        # Converting up front makes a bad part fail before anything is written.
        views = [memoryview(part).cast("B") for part in raw]
        if self._remote is None:
            with self._local_write_errors(key):
                return _write_local(path, views, exclusive)
        with self._remote.errors(self.url(key)):
            return self._remote.write(path, views, exclusive)

    def write_stream(self, key: str, source: IO[bytes], chunk_size: int = 8 << 20) -> None:
        """Store what remains to be read from ``source`` under ``key``, a chunk at a time.

        For objects that may be larger than memory (a task's log, spooled to a temporary
        file): at most ``chunk_size`` bytes are held at once. Like :meth:`write`, no reader
        ever sees a partial object.
        """
        path = self._path(key)
        chunks = (memoryview(chunk) for chunk in iter(lambda: source.read(chunk_size), b""))
        if self._remote is None:
            with self._local_write_errors(key):
                _write_local(path, chunks, exclusive=False)
            return
        with self._remote.errors(self.url(key)):
            self._remote.write_stream(path, chunks)

    def write_new(self, key: str, data: BytesLike | Sequence[BytesLike]) -> bool:
        """Store an immutable object unless one is already stored under ``key``.

        For keys that name their content (a hash): every writer of ``key`` writes the same
        bytes, so unlike ``exclusive`` no single winner is needed, and each backend takes its
        cheapest way to skip an existing object (a ``stat`` on a folder; on S3 one conditional
        PUT, or a HEAD before a large upload).

        Returns:
            ``True`` when this call stored the object, ``False`` when it was already there.
        """
        path = self._path(key)
        raw = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
        views = [memoryview(part).cast("B") for part in raw]
        if self._remote is None:
            with self._local_write_errors(key):
                return not os.path.isfile(path) and _write_local(path, views, exclusive=False)
        with self._remote.errors(self.url(key)):
            return self._remote.write_new(path, views)

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
        path = self._path(key)
        try:
            if self._remote is None:
                with open(path, "rb", buffering=0) as f:
                    return read_exactly(f, os.fstat(f.fileno()).st_size, key, on_chunk)
            with self._remote.errors(self.url(key)):
                return self._remote.read(path, on_chunk)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise self._not_found(key) from exc

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        path = self._path(key)
        if self._remote is None:
            return os.path.isfile(path)
        with self._remote.errors(self.url(key)):
            return self._remote.exists(path)

    def exists_many(self, keys: Iterable[str]) -> set[str]:
        """Return the subset of ``keys`` that are stored.

        On remote stores, keys that share a parent are answered with one listing when there are
        many of them, and the remaining keys are checked concurrently, not one after the other.
        """
        wanted = list(dict.fromkeys(keys))
        if self._remote is None:
            return {key for key in wanted if os.path.isfile(self._path(key))}
        by_parent: dict[str, list[str]] = defaultdict(list)
        for key in wanted:
            by_parent[key.rpartition("/")[0]].append(key)
        found: set[str] = set()
        singles: list[str] = []
        for parent, group in by_parent.items():
            if len(group) < _LIST_INSTEAD_OF_STAT:
                singles.extend(group)
                continue
            present: set[str] = set(self._list_remote(parent, files_only=True))
            found.update(key for key in group if key.rpartition("/")[2] in present)
        if len(singles) < 2:
            found.update(key for key in singles if self.exists(key))
            return found
        with ThreadPoolExecutor(min(self._remote.concurrency, len(singles))) as pool:
            answers = pool.map(self.exists, singles)
            found.update(key for key, there in zip(singles, answers, strict=True) if there)
        return found

    def list(self, prefix: str = "") -> list[str]:
        """Return the sorted names of the immediate children of ``prefix`` (objects or folders).

        Returns ``[]`` when nothing is stored under ``prefix``.
        """
        path = self._path(prefix) if prefix else self._base
        if self._remote is not None:
            return sorted(self._list_remote(prefix, files_only=False))
        try:
            names = os.listdir(path)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(name for name in names if not _is_temp_name(name))

    # builtins.list: inside the class body, 'list' is the method above.
    def _list_remote(self, prefix: str, *, files_only: bool) -> builtins.list[str]:
        assert self._remote is not None
        path = self._path(prefix) if prefix else self._base
        with self._remote.errors(self.url(prefix)):
            return self._remote.list(path, files_only=files_only)

    def size(self, key: str) -> int:
        """Return the size in bytes of the object under ``key``.

        Raises:
            ObjectNotFound: No object is stored under ``key``.
        """
        path = self._path(key)
        try:
            if self._remote is None:
                return os.stat(path).st_size
            with self._remote.errors(self.url(key)):
                return self._remote.size(path)
        except FileNotFoundError as exc:
            raise self._not_found(key) from exc

    def delete(self, key: str) -> None:
        """Remove the object under ``key``.

        Raises:
            ObjectNotFound: No object is stored under ``key``.
        """
        path = self._path(key)
        try:
            if self._remote is None:
                os.unlink(path)
            else:
                with self._remote.errors(self.url(key)):
                    self._remote.delete(path)
        except FileNotFoundError as exc:
            raise self._not_found(key) from exc

    def move(self, key: str, new_key: str) -> None:
        """Move the object under ``key`` to ``new_key`` (replacing what is there).

        Used to set damaged objects aside, which is rare, so remote stores take the generic
        path: a copy, then a delete of the original.

        Raises:
            ObjectNotFound: No object is stored under ``key``.
        """
        path, new_path = self._path(key), self._path(new_key)
        if self._remote is None:
            os.makedirs(os.path.dirname(new_path), exist_ok=True)
            try:
                os.replace(path, new_path)
            except FileNotFoundError as exc:
                raise self._not_found(key) from exc
            return
        self.write(new_key, self.read(key))
        self.delete(key)

    # -- helpers ---------------------------------------------------------------------------

    def _path(self, key: str) -> str:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") for part in parts):
            raise DatastoreError(
                f"invalid datastore key {key!r}: keys are relative names such as 'a/b/c', "
                "without empty, '.' or '..' parts"
            )
        return f"{self._base}/{key}"

    @contextmanager
    def _local_write_errors(self, key: str) -> Iterator[None]:
        # A failed write() carries no file name (ENOSPC, EFBIG): name the object here.
        try:
            yield
        except OSError as exc:
            raise DatastoreWriteError(
                f"cannot write {self.url(key)}: {exc.strerror or exc}",
                url=self.url(key),
                hint="free space on that disk, or make the folder writable",
            ) from exc

    def _not_found(self, key: str) -> ObjectNotFound:
        return ObjectNotFound(f"no object is stored at {self.url(key)}")


def _write_local(path: str, views: Iterable[memoryview], exclusive: bool) -> bool:
    folder, name = os.path.split(path)
    os.makedirs(folder, exist_ok=True)
    # The temporary file sits in the destination folder so the final rename or link stays on one
    # filesystem, where it is atomic. There is no fsync: the guarantee is about concurrent
    # readers, and fsync would halve the speed of saving large artifacts. After a power loss a
    # torn blob fails its hash check instead of loading wrong data.
    tmp = os.path.join(folder, f".{name}.{secrets.token_hex(8)}{_TEMP_SUFFIX}")
    renamed = False
    try:
        with open(tmp, "xb", buffering=0) as f:
            for view in views:
                _write_all(f, view)
        if exclusive:
            # link() fails if the name exists, which makes the claim race-free between processes.
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            return True
        os.replace(tmp, path)
        renamed = True
        return True
    finally:
        if not renamed:
            with suppress(FileNotFoundError):
                os.unlink(tmp)


def _write_all(f: IO[bytes], view: memoryview) -> None:
    # Unbuffered writes may be partial (Linux caps one write at ~2 GiB).
    while view:
        written = f.write(view)
        view = view[written:]


def _is_temp_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(_TEMP_SUFFIX)
