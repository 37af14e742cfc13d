"""The storage backend interface: the few primitives every store implements.

:class:`~flowkit.datastore.storage.ByteStorage` (and everything above it: content-addressed
blobs, manifests, run records) is written against :class:`StorageBackend` only, so it never
asks which store it holds. Three backends ship with flowkit: local folders
(:mod:`~flowkit.datastore.local`), any fsspec URL (:mod:`~flowkit.datastore.generic`) and S3
(:mod:`~flowkit.datastore.s3`). A root URL picks its backend by scheme through the
``datastore.<scheme>`` entry points of the ``flowkit.plugins`` group (see
:func:`~flowkit.datastore.storage.open_backend`), so another store plugs in without changes
here. :class:`BackendBase` supplies the optional primitives from the required ones, and
:mod:`flowkit.testing.storage` is the conformance suite a backend runs against itself.

Keys are ``/``-separated names relative to the root, already checked by ``ByteStorage`` (no
empty, ``.`` or ``..`` parts). A backend signals a missing object with ``FileNotFoundError``;
``ByteStorage`` turns it into :class:`~flowkit.errors.ObjectNotFound` naming the key.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

from flowkit.errors import DatastoreError

# Big enough that per-call overhead vanishes, small enough that a consumer of the chunks (the
# content store's hashing) overlaps most of the read.
READ_CHUNK = 8 << 20


@runtime_checkable
class StorageBackend(Protocol):
    """Whole objects under ``/``-separated keys below one root.

    Attributes:
        root: The normalized URL of the root, without a trailing ``/``
            (``file:///home/me/.flowkit``, ``s3://bucket/prefix``).
        concurrency: Requests worth having in flight at once (1: threads do not help).
        local: Whether objects are files on this machine's filesystem.
    """

    root: str
    concurrency: int
    local: bool

    def check(self) -> None:
        """Fail early, with a message saying what to fix, if the store cannot be used.

        Raises:
            DatastoreUnavailable: A subclass naming the problem.
        """

    def write(self, key: str, views: list[memoryview], exclusive: bool) -> bool:
        """Store the concatenated ``views`` at ``key`` so that no reader sees a partial object.

        With ``exclusive``, create the object only if ``key`` does not exist, atomically: two
        concurrent exclusive writers of one key never both succeed.

        Returns:
            ``True`` when written; ``False`` when ``exclusive`` and the key was taken.
        """

    def write_new(self, key: str, views: list[memoryview]) -> bool:
        """Store an immutable object unless one is stored at ``key`` (every writer of the key
        writes the same bytes, so no single winner is needed).

        Returns:
            ``True`` when this call stored the object, ``False`` when it was already there.
        """

    def write_stream(self, key: str, chunks: Iterable[memoryview]) -> None:
        """Store the concatenated ``chunks``, consumed one at a time (the whole may not fit
        in memory); like :meth:`write`, no reader sees a partial object."""

    def read(self, key: str, on_chunk: Callable[[memoryview], object] | None) -> bytearray:
        """The whole object at ``key`` in a new buffer, calling ``on_chunk`` with each
        consecutive filled slice as soon as it is read.

        Raises:
            FileNotFoundError: No object is stored at ``key``.
        """

    def exists(self, key: str) -> bool:
        """Whether an object (not a folder) is stored at ``key``."""

    def list(self, prefix: str, *, files_only: bool) -> builtins.list[str]:
        """Names of the children of ``prefix`` (``""``: the root); objects and sub-folders,
        or only objects with ``files_only``; ``[]`` when there are none."""

    def size(self, key: str) -> int:
        """Size in bytes of the object at ``key``.

        Raises:
            FileNotFoundError: No object is stored at ``key``.
        """

    def delete(self, key: str) -> None:
        """Remove the object at ``key``.

        Raises:
            FileNotFoundError: No object is stored at ``key``.
        """

    def move(self, key: str, new_key: str) -> None:
        """Move the object at ``key`` to ``new_key``, replacing what is there.

        Raises:
            FileNotFoundError: No object is stored at ``key``.
        """

    def errors(self, url: str) -> Any:
        """A context manager turning the store library's exceptions into
        :class:`~flowkit.errors.DatastoreError` subclasses (``url`` names the object in
        messages); ``FileNotFoundError`` passes through."""


class BackendBase(ABC):
    """Defaults for the optional primitives of :class:`StorageBackend`.

    A subclass implements ``write``, ``read``, ``exists``, ``list``, ``size`` and ``delete``
    and sets ``root``; it inherits an existence-checked ``write_new``, a ``write_stream`` that
    joins the chunks, a copy-then-delete ``move``, a ``check`` that lists the root, and an
    ``errors`` that explains exceptions through :meth:`translate` (by default: none).
    Override whichever the store can do better.
    """

    root: str = ""
    concurrency: int = 1
    local: bool = False
    #: What to install when the store's library is missing (shown as the error's hint).
    install_hint: str = ""

    @abstractmethod
    def write(self, key: str, views: builtins.list[memoryview], exclusive: bool) -> bool:
        """See :class:`StorageBackend`."""

    @abstractmethod
    def read(self, key: str, on_chunk: Callable[[memoryview], object] | None) -> bytearray:
        """See :class:`StorageBackend`."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """See :class:`StorageBackend`."""

    @abstractmethod
    def list(self, prefix: str, *, files_only: bool) -> builtins.list[str]:
        """See :class:`StorageBackend`."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """See :class:`StorageBackend`."""

    @abstractmethod
    def size(self, key: str) -> int:
        """See :class:`StorageBackend`."""

    def write_new(self, key: str, views: builtins.list[memoryview]) -> bool:
        """Check, then write: fine because every writer of ``key`` writes the same bytes."""
        if self.exists(key):
            return False
        return self.write(key, views, False)

    def write_stream(self, key: str, chunks: Iterable[memoryview]) -> None:
        """Collect the chunks, then one :meth:`write` (override for stores that can stream)."""
        self.write(key, [memoryview(bytes(chunk)) for chunk in chunks], False)

    def move(self, key: str, new_key: str) -> None:
        """Copy, then delete the original (moves are rare: damaged objects set aside)."""
        self.write(new_key, [memoryview(self.read(key, None))], False)
        self.delete(key)

    def check(self) -> None:
        """List the root, so an unreachable store fails before a run starts."""
        with self.errors(self.root):
            self.list("", files_only=False)

    @contextmanager
    def errors(self, url: str) -> Iterator[None]:
        """Turn the store's exceptions into :class:`DatastoreError` subclasses via
        :meth:`translate`; ``FileNotFoundError`` and friends pass through (callers turn them
        into :class:`~flowkit.errors.ObjectNotFound` with the key)."""
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
        """The :class:`DatastoreError` that explains ``exc``, or ``None`` to let it propagate
        (the default: override to explain the store's own exceptions)."""
        return None


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
