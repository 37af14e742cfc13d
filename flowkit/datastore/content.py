"""Content-addressed blobs: every object is stored under the sha256 of its bytes.

Naming blobs by their hash gives deduplication for free (an artifact that did not change between
steps or runs is stored once) and makes corruption detectable: a blob whose bytes no longer hash
to its name is refused instead of being unpickled.

A damaged blob is *quarantined* as soon as a read detects it: moved under the flow's
``quarantine/`` folder (kept there for inspection, never read again), so the next write of that
content stores it afresh. The alternative, checking an existing blob's bytes on every write, would
cost a full read and hash of every deduplicated artifact (and a request more on S3) on the hot
path, to catch a damage that every read already detects.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from flowkit.datastore.storage import BytesLike, ByteStorage
from flowkit.errors import CorruptObject, DatastoreError, ObjectNotFound

_DIGEST = re.compile(r"[0-9a-f]{64}")
# From this many blobs, one batched existence check (listings) beats a check per blob.
_BATCH_CHECK_FROM = 16
# At most this many blob names are remembered as stored (see ContentStore.known).
_KNOWN_MAX = 100_000


class ContentStore:
    """Blobs named by the sha256 of their exact bytes, stored at ``{prefix}/{sha[:2]}/{sha}``.

    Args:
        storage: Where the bytes live.
        prefix: The folder of the blobs inside ``storage``, e.g. ``"HelloFlow/data"``.
        quarantine: Where damaged blobs are moved; by default ``quarantine/`` beside the
            folder of the blobs, e.g. ``"HelloFlow/quarantine/data"``.
    """

    def __init__(self, storage: ByteStorage, prefix: str, quarantine: str | None = None) -> None:
        self.storage = storage
        self.prefix = prefix.strip("/")
        parent, _, name = self.prefix.rpartition("/")
        self.quarantine_prefix = quarantine or "/".join(filter(None, [parent, "quarantine", name]))
        # On remote stores: blobs this process (or the one it was forked from) wrote or read
        # and verified, so they are stored; writing one again needs no request. Blobs are
        # never deleted, only quarantined when damaged (which removes the name from here).
        self._known: set[str] = set()
        self._remember = storage.concurrency > 1
        # Verified bytes read in advance for forks of this process (see preload).
        self._preloaded: dict[str, bytes] = {}

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
        if digest not in self._known:
            self.storage.write_new(self.key(digest), parts)
            self._note(digest)
        return digest

    def put_file(self, path: str, chunk_size: int = 8 << 20) -> str:
        """Store the bytes of the local file at ``path`` and return their sha256 hex digest.

        Like :meth:`put`, but the file is hashed, then (unless stored already) written, a chunk
        at a time: a file larger than memory can be stored.
        """
        hashing = hashlib.sha256()
        with open(path, "rb") as source:
            while chunk := source.read(chunk_size):
                hashing.update(chunk)
        digest = hashing.hexdigest()
        if digest not in self._known:
            key = self.key(digest)
            if not self.storage.exists(key):
                with open(path, "rb") as source:
                    self.storage.write_stream(key, source, chunk_size)
            self._note(digest)
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
            if digest not in self._known:
                missing.setdefault(digest, parts)
        if len(missing) >= _BATCH_CHECK_FROM:
            for digest in self.exists_many(missing):
                del missing[digest]
        if self.storage.concurrency < 2 or len(missing) < 2:
            for digest, parts in missing.items():
                self.storage.write_new(self.key(digest), parts)
        else:
            with ThreadPoolExecutor(min(self.storage.concurrency, len(missing))) as pool:
                writes = [
                    pool.submit(self.storage.write_new, self.key(digest), parts)
                    for digest, parts in missing.items()
                ]
                for write in writes:
                    write.result()
        for digest in missing:
            self._note(digest)
        return digests

    def _note(self, digest: str) -> None:
        """Remember that the blob ``digest`` is stored (on remote stores only)."""
        if self._remember:
            if len(self._known) >= _KNOWN_MAX:
                self._known.clear()
            self._known.add(digest)

    def preload(self, digests: Iterable[str], max_size: int) -> None:
        """Read these blobs now, concurrently, and keep those up to ``max_size`` bytes for
        :meth:`get` in this process and in the processes it forks from now on.

        The runner reads the foreach elements its forked tasks will load, a batch at a time
        on its warm client, so a task on a remote store need not set up a connection of its
        own to read a hundred bytes. A blob that cannot be read now is left to the task.
        """
        wanted = [d for d in dict.fromkeys(digests) if d not in self._preloaded]
        if not wanted:
            return

        def read(digest: str) -> tuple[str, bytes | None]:
            try:
                data, actual = self._read_hashed(self.key(digest), limit=max_size)
            except (DatastoreError, OSError, _TooBig):
                return digest, None
            return digest, bytes(data) if actual == digest else None

        if self.storage.concurrency < 2 or len(wanted) < 2:
            results = [read(digest) for digest in wanted]
        else:
            with ThreadPoolExecutor(min(self.storage.concurrency, len(wanted))) as pool:
                results = list(pool.map(read, wanted))
        for digest, data in results:
            if data is not None:
                self._preloaded[digest] = data
                self._note(digest)

    def forget_preloaded(self) -> None:
        """Drop the bytes kept by :meth:`preload`."""
        self._preloaded.clear()

    def get_many(self, digests: Iterable[str]) -> dict[str, bytearray]:
        """Return several verified blobs by digest, read concurrently from remote stores.

        Raises:
            ObjectNotFound: A blob is missing.
            CorruptObject: A blob's bytes do not match its digest.
        """
        wanted = list(dict.fromkeys(digests))
        if self.storage.concurrency < 2 or len(wanted) < 2:
            return {digest: self.get(digest) for digest in wanted}
        with ThreadPoolExecutor(min(self.storage.concurrency, len(wanted))) as pool:
            return dict(zip(wanted, pool.map(self.get, wanted), strict=True))

    def get(self, digest: str) -> bytearray:
        """Return the bytes of the blob named ``digest`` after checking they hash to it.

        A blob that fails the check is quarantined (see :meth:`quarantine`) before the error is
        raised, so the next write of that content replaces it.

        Raises:
            ObjectNotFound: No such blob is stored.
            CorruptObject: The stored bytes do not match ``digest``.
        """
        key = self.key(digest)
        preloaded = self._preloaded.get(digest)
        if preloaded is not None:  # verified when it was read
            return bytearray(preloaded)
        data, actual = self._read_hashed(key)
        if actual == digest:
            self._note(digest)
        else:
            self._known.discard(digest)
            url = self.storage.url(key)
            moved = self._quarantine_quietly(digest)
            where = (
                f"It was moved to {moved}, so the next write of this content stores it again."
                if moved
                else "It could not be moved aside."
            )
            raise CorruptObject(
                f"the blob {url} is corrupt: its {len(data)} bytes hash to {actual}, not to the "
                f"name they are stored under, so it will not be loaded. {where}",
                hint="recompute the runs that use it (resume them: tasks whose artifacts are "
                "missing run again), or restore the file from a backup",
                url=url,
            )
        return data

    def check(self, digest: str) -> str | None:
        """Why the blob named ``digest`` is bad (missing, unreadable, wrong hash); ``None`` if good.

        Reads and hashes the whole blob; quarantines nothing.
        """
        try:
            data, actual = self._read_hashed(self.key(digest))
        except ObjectNotFound:
            return "missing"
        except DatastoreError as exc:
            return f"unreadable ({exc.message})"
        if actual != digest:
            return f"corrupt: its {len(data)} bytes hash to {actual[:12]}..., not to its name"
        return None

    def quarantine(self, digest: str) -> str | None:
        """Move the blob named ``digest`` under the quarantine folder if it is still damaged.

        The blob is read and hashed again first: another process may have quarantined it and
        stored the content afresh since the damage was seen, and a good blob must stay.

        Returns:
            The URL the damaged bytes were moved to; ``None`` when the blob is good or gone.
        """
        self._known.discard(digest)
        self._preloaded.pop(digest, None)
        reason = self.check(digest)
        if reason is None or reason == "missing":
            return None
        stamp = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(4)}"
        new_key = f"{self.quarantine_prefix}/{digest[:2]}/{digest}.{stamp}"
        try:
            self.storage.move(self.key(digest), new_key)
        except ObjectNotFound:
            return None  # another reader moved it first
        return self.storage.url(new_key)

    def _quarantine_quietly(self, digest: str) -> str | None:
        # A reader without write access (or a store failing now) still gets the corruption
        # error; only the repair is skipped.
        try:
            return self.quarantine(digest)
        except (DatastoreError, OSError):
            return None

    def _read_hashed(self, key: str, limit: int | None = None) -> tuple[bytearray, str]:
        hasher = _HashWhileReading(limit)
        try:
            data = self.storage.read(key, on_chunk=hasher.update)
        finally:
            actual = hasher.hexdigest()  # also joins the hashing thread if the read failed
        return data, actual

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


class _TooBig(Exception):
    """A preloaded blob is larger than wanted (raised from a read's chunk callback)."""


class _HashWhileReading:
    """sha256 of chunks fed in order, hashed on a worker thread while the next chunk is read.

    Hashing runs at about the speed of reading from the page cache, so overlapping the two
    nearly halves the time to load a large artifact. A blob that arrives in a single chunk is
    hashed inline, without starting a thread.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._limit = limit  # raise _TooBig past this many bytes: stops the read
        self._seen = 0
        self._sha = hashlib.sha256()
        self._pending: memoryview | None = None
        self._worker: ThreadPoolExecutor | None = None

    def update(self, chunk: memoryview) -> None:
        self._seen += chunk.nbytes
        if self._limit is not None and self._seen > self._limit:
            raise _TooBig
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
