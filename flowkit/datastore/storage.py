"""Byte-level storage: named immutable objects under one fsspec URL.

This is the only module of the datastore that knows about filesystems. Everything above it
(content-addressed blobs, manifests, run records) is expressed as reads and writes of whole
objects under ``/``-separated keys, so a new backend only has to behave here.

Local folders get a fast path that talks to ``os`` directly: atomic renames, hard-link claims and
``readinto`` are what make the local datastore both safe under concurrent runners and quick for
large artifacts. Every other backend goes through the fsspec filesystem object.
"""

from __future__ import annotations

import builtins
import os
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from typing import IO, Any, TypeAlias

import fsspec
from fsspec.implementations.local import LocalFileSystem

from flowkit.errors import DatastoreError, ObjectNotFound

BytesLike: TypeAlias = bytes | bytearray | memoryview
"""What a part of an object may be: anything exposing a contiguous byte buffer."""

_TEMP_SUFFIX = ".tmp"
# Big enough that per-call overhead vanishes, small enough that a consumer of the chunks (the
# content store's hashing) overlaps most of the read.
_READ_CHUNK = 8 << 20
# Above this many keys under one parent, one listing is cheaper than a request per key on an
# object store (S3 LIST returns up to 1000 names for the price of one HEAD).
_LIST_INSTEAD_OF_STAT = 8


class ByteStorage:
    """Whole-object reads and writes under one root URL.

    Args:
        root: A local path or any fsspec URL (``file://``, ``memory://``, ``s3://`` ...).

    Attributes:
        root: The normalized URL of the root, e.g. ``file:///home/me/.flowkit``.
        fs: The fsspec filesystem serving the root.
    """

    def __init__(self, root: str) -> None:
        fs, path = fsspec.core.url_to_fs(root)
        self.fs: Any = fs
        self._base: str = path.rstrip("/")
        self.root: str = fs.unstrip_protocol(self._base)

    def __repr__(self) -> str:
        return f"ByteStorage({self.root!r})"

    @property
    def is_local(self) -> bool:
        """Whether the root is a folder on this machine's filesystem."""
        return isinstance(self.fs, LocalFileSystem)

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
                exclusive writers of one key cannot both succeed.

        Returns:
            ``True`` when the object was written, ``False`` when ``exclusive`` was set and the
            key already existed.

        Raises:
            DatastoreError: ``key`` is not a valid relative key.
            TypeError: A part does not expose a contiguous byte buffer.
        """
        path = self._path(key)
        raw = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
        # Converting up front makes a bad part fail before anything is written.
        views = [memoryview(part).cast("B") for part in raw]
        if self.is_local:
            return _write_local(path, views, exclusive)
        return self._write_remote(path, views, exclusive)

    def _write_remote(self, path: str, views: list[memoryview], exclusive: bool) -> bool:
        if exclusive and self.fs.isfile(path):
            # Check-then-write is only race-free for single-process backends such as memory://.
            # The S3 backend will make this a conditional PUT (If-None-Match: *) instead.
            return False
        # With autocommit off, buffered writers (s3fs multipart uploads) publish the object only
        # on commit(), and discard() drops it, so a failed write leaves nothing behind.
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
            if self.is_local:
                with open(path, "rb", buffering=0) as f:
                    return _read_exactly(f, os.fstat(f.fileno()).st_size, key, on_chunk)
            with self.fs.open(path, "rb") as f:
                size = getattr(f, "size", None)
                size = self.fs.size(path) if size is None else size
                return _read_exactly(f, size, key, on_chunk)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise self._not_found(key) from exc

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        path = self._path(key)
        return os.path.isfile(path) if self.is_local else bool(self.fs.isfile(path))

    def exists_many(self, keys: Iterable[str]) -> set[str]:
        """Return the subset of ``keys`` that are stored.

        On object stores, keys that share a parent are answered with one listing when there are
        many of them, instead of one request per key.
        """
        wanted = list(dict.fromkeys(keys))
        if self.is_local:
            return {key for key in wanted if os.path.isfile(self._path(key))}
        by_parent: dict[str, list[str]] = defaultdict(list)
        for key in wanted:
            by_parent[key.rpartition("/")[0]].append(key)
        found: set[str] = set()
        for parent, group in by_parent.items():
            if len(group) < _LIST_INSTEAD_OF_STAT:
                found.update(key for key in group if self.exists(key))
                continue
            present: set[str] = set(self._list_remote(parent, files_only=True))
            found.update(key for key in group if key.rpartition("/")[2] in present)
        return found

    def list(self, prefix: str = "") -> list[str]:
        """Return the sorted names of the immediate children of ``prefix`` (objects or folders).

        Returns ``[]`` when nothing is stored under ``prefix``.
        """
        path = self._path(prefix) if prefix else self._base
        if not self.is_local:
            return sorted(self._list_remote(prefix, files_only=False))
        try:
            names = os.listdir(path)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(name for name in names if not _is_temp_name(name))

    # builtins.list: inside the class body, 'list' is the method above.
    def _list_remote(self, prefix: str, *, files_only: bool) -> builtins.list[str]:
        path = self._path(prefix) if prefix else self._base
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
        """Return the size in bytes of the object under ``key``.

        Raises:
            ObjectNotFound: No object is stored under ``key``.
        """
        path = self._path(key)
        try:
            if self.is_local:
                return os.stat(path).st_size
            return int(self.fs.size(path))
        except FileNotFoundError as exc:
            raise self._not_found(key) from exc

    def delete(self, key: str) -> None:
        """Remove the object under ``key``.

        Raises:
            ObjectNotFound: No object is stored under ``key``.
        """
        path = self._path(key)
        try:
            if self.is_local:
                os.unlink(path)
            else:
                self.fs.rm_file(path)
        except FileNotFoundError as exc:
            raise self._not_found(key) from exc

    # -- helpers ---------------------------------------------------------------------------

    def _path(self, key: str) -> str:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") for part in parts):
            raise DatastoreError(
                f"invalid datastore key {key!r}: keys are relative names such as 'a/b/c', "
                "without empty, '.' or '..' parts"
            )
        return f"{self._base}/{key}"

    def _not_found(self, key: str) -> ObjectNotFound:
        return ObjectNotFound(f"no object is stored at {self.url(key)}")


def _write_local(path: str, views: list[memoryview], exclusive: bool) -> bool:
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


def _read_exactly(
    f: Any, size: int, key: str, on_chunk: Callable[[memoryview], object] | None
) -> bytearray:
    buf = bytearray(size)
    view = memoryview(buf)
    step = _READ_CHUNK if on_chunk else max(size, 1)
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


def _is_temp_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(_TEMP_SUFFIX)
