"""Content-addressed blobs: every object is stored under the sha256 of its bytes.

Naming blobs by their hash gives deduplication for free (an artifact that did not change between
steps or runs is stored once) and makes corruption detectable: a blob whose bytes no longer hash
to its name is refused instead of being unpickled.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from flowkit.datastore.storage import BytesLike, ByteStorage
from flowkit.errors import CorruptObject, ObjectNotFound

_DIGEST = re.compile(r"[0-9a-f]{64}")
# Object stores are latency-bound, so a few transfers in flight hide the round trips.
_REMOTE_UPLOAD_THREADS = 8
# From this many blobs, one batched existence check (listings) beats a check per blob.
_BATCH_CHECK_FROM = 16


class ContentStore:
    """Blobs named by the sha256 of their exact bytes, stored at ``{prefix}/{sha[:2]}/{sha}``.

    Args:
        storage: Where the bytes live.
        prefix: The folder of the blobs inside ``storage``, e.g. ``"HelloFlow/data"``.
    """

    def __init__(self, storage: ByteStorage, prefix: str) -> None:
        self.storage = storage
        self.prefix = prefix.strip("/")

    def __repr__(self) -> str:
        return f"ContentStore({self.storage.url(self.prefix)!r})"

    def key(self, digest: str) -> str:
        """Return the storage key of the blob named ``digest``.

        Raises:
            ObjectNotFound: ``digest`` is not a sha256 hex digest, so no blob can have it.
        """
        if not _DIGEST.fullmatch(digest):
            raise ObjectNotFound(
                f"{digest!r} is not a blob name: blob names are 64-character sha256 hex digests"
            )
        return f"{self.prefix}/{digest[:2]}/{digest}"

    def put(self, parts: Sequence[BytesLike]) -> str:
        """Store the concatenation of ``parts`` and return its sha256 hex digest.

        The parts are hashed and written one by one, never joined in memory. Nothing is written
        when a blob with the same content already exists.
        """
        digest = _sha256(parts)
        self.storage.write_new(self.key(digest), parts)
        return digest

    def put_many(self, blobs: Sequence[Sequence[BytesLike]]) -> list[str]:
        """Store several blobs, each given as its parts; the missing ones concurrently.

        Many blobs are first checked in one batch (a listing answers every blob under one
        prefix at once); a few are written straight away with ``write_new``, whose own check
        is as cheap as a separate existence check would be (on S3, one conditional PUT).

        Returns:
            The digest of each blob, in the order given.
        """
        digests = [_sha256(parts) for parts in blobs]
        missing: dict[str, Sequence[BytesLike]] = {}
        for digest, parts in zip(digests, blobs, strict=True):
            missing.setdefault(digest, parts)
        if len(missing) >= _BATCH_CHECK_FROM:
            for digest in self.exists_many(missing):
                del missing[digest]
        if self.storage.is_local or len(missing) < 2:
            for digest, parts in missing.items():
                self.storage.write_new(self.key(digest), parts)
        else:
            with ThreadPoolExecutor(min(_REMOTE_UPLOAD_THREADS, len(missing))) as pool:
                writes = [
                    pool.submit(self.storage.write_new, self.key(digest), parts)
                    for digest, parts in missing.items()
                ]
                for write in writes:
                    write.result()
        return digests

    def get_many(self, digests: Iterable[str]) -> dict[str, bytearray]:
        """Return several verified blobs by digest, read concurrently from remote stores.

        Raises:
            ObjectNotFound: A blob is missing.
            CorruptObject: A blob's bytes do not match its digest.
        """
        wanted = list(dict.fromkeys(digests))
        if self.storage.is_local or len(wanted) < 2:
            return {digest: self.get(digest) for digest in wanted}
        with ThreadPoolExecutor(min(_REMOTE_UPLOAD_THREADS, len(wanted))) as pool:
            return dict(zip(wanted, pool.map(self.get, wanted), strict=True))

    def get(self, digest: str) -> bytearray:
        """Return the bytes of the blob named ``digest`` after checking they hash to it.

        Raises:
            ObjectNotFound: No such blob is stored.
            CorruptObject: The stored bytes do not match ``digest``.
        """
        key = self.key(digest)
        hasher = _HashWhileReading()
        try:
            data = self.storage.read(key, on_chunk=hasher.update)
        finally:
            actual = hasher.hexdigest()  # also joins the hashing thread if the read failed
        if actual != digest:
            raise CorruptObject(
                f"the blob {self.storage.url(key)} is corrupt: its {len(data)} bytes hash to "
                f"{actual}, not to the name they are stored under. The stored data is damaged "
                "and will not be loaded.",
                hint="re-run the step that produced this artifact, or restore the file from a "
                "backup",
            )
        return data

    def exists(self, digest: str) -> bool:
        """Whether a blob named ``digest`` is stored."""
        return self.storage.exists(self.key(digest))

    def exists_many(self, digests: Iterable[str]) -> set[str]:
        """Return the subset of ``digests`` whose blobs are stored."""
        keys = {self.key(digest): digest for digest in digests}
        return {keys[key] for key in self.storage.exists_many(keys)}


def _sha256(parts: Sequence[BytesLike]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


class _HashWhileReading:
    """sha256 of chunks fed in order, hashed on a worker thread while the next chunk is read.

    Hashing runs at about the speed of reading from the page cache, so overlapping the two
    nearly halves the time to load a large artifact. A blob that arrives in a single chunk is
    hashed inline, without starting a thread.
    """

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._pending: memoryview | None = None
        self._worker: ThreadPoolExecutor | None = None

    def update(self, chunk: memoryview) -> None:
        if self._pending is not None:
            if self._worker is None:
                self._worker = ThreadPoolExecutor(1)
            # One worker runs the updates in submission order.
            self._worker.submit(self._sha.update, self._pending)
        self._pending = chunk

    def hexdigest(self) -> str:
        if self._worker is not None:
            self._worker.shutdown(wait=True)
            self._worker = None
        if self._pending is not None:
            self._sha.update(self._pending)
            self._pending = None
        return self._sha.hexdigest()
