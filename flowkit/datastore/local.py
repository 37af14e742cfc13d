"""Local folders: the storage primitives straight on ``os``.

Atomic renames, hard-link claims and ``readinto`` are what make the local datastore both safe
under concurrent runners and quick for large artifacts.
"""

from __future__ import annotations

import builtins
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import IO

import fsspec

from flowkit.datastore.backend import BackendBase, read_exactly
from flowkit.errors import DatastoreWriteError

_TEMP_SUFFIX = ".tmp"


class LocalBackend(BackendBase):
    """Objects as files under a folder (``/path``, ``file:///path`` or ``local://path``).

    Args:
        root: The folder, as a path or ``file://`` URL; created by :meth:`check`.
        settings: Unused (the signature every backend shares).
    """

    local = True

    def __init__(self, root: str, settings: object = None) -> None:
        fs, path = fsspec.core.url_to_fs(root)
        self.base: str = path.rstrip("/") or "/"
        self.root = str(fs.unstrip_protocol(self.base))

    def _path(self, key: str) -> str:
        return f"{self.base}/{key}" if key else self.base

    def check(self) -> None:
        """Create the folder."""
        os.makedirs(self.base, exist_ok=True)

    # -- writing ---------------------------------------------------------------------------

    def write(self, key: str, views: list[memoryview], exclusive: bool) -> bool:
        with self._write_errors(key):
            return _write(self._path(key), views, exclusive)

    def write_new(self, key: str, views: list[memoryview]) -> bool:
        path = self._path(key)
        with self._write_errors(key):
            return not os.path.isfile(path) and _write(path, views, exclusive=False)

    def write_stream(self, key: str, chunks: Iterable[memoryview]) -> None:
        with self._write_errors(key):
            _write(self._path(key), chunks, exclusive=False)

    def move(self, key: str, new_key: str) -> None:
        new_path = self._path(new_key)
        os.makedirs(os.path.dirname(new_path), exist_ok=True)
        os.replace(self._path(key), new_path)

    @contextmanager
    def _write_errors(self, key: str) -> Iterator[None]:
        # A failed write() carries no file name (ENOSPC, EFBIG): name the object here.
        try:
            yield
        except OSError as exc:
            url = f"{self.root}/{key}"
            raise DatastoreWriteError(
                f"cannot write {url}: {exc.strerror or exc}",
                url=url,
                hint="free space on that disk, or make the folder writable",
            ) from exc

    # -- reading ---------------------------------------------------------------------------

    def read(self, key: str, on_chunk: Callable[[memoryview], object] | None) -> bytearray:
        with open(self._path(key), "rb", buffering=0) as f:
            return read_exactly(f, os.fstat(f.fileno()).st_size, key, on_chunk)

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def list(self, prefix: str, *, files_only: bool) -> builtins.list[str]:
        folder = self._path(prefix)
        try:
            with os.scandir(folder) as entries:
                return [
                    entry.name
                    for entry in entries
                    if not _is_temp_name(entry.name) and (not files_only or entry.is_file())
                ]
        except (FileNotFoundError, NotADirectoryError):
            return []

    def size(self, key: str) -> int:
        return os.stat(self._path(key)).st_size

    def delete(self, key: str) -> None:
        os.unlink(self._path(key))


def _write(path: str, views: Iterable[memoryview], exclusive: bool) -> bool:
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
