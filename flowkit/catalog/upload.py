"""Writing a dataset's file so that a failure publishes nothing: :class:`HashingSink` streams
what an encoder writes, :func:`write_whole` writes bytes already encoded.

Used for parquet saves (:func:`flowkit.catalog.files.save_value`): the encoder writes small
pieces; they are gathered into :data:`WRITE_BLOCK` blocks, and each full block is handed to
one background thread that writes it to the file. On an object store that write uploads one
part of a multipart upload, so the next block is encoded while the previous one travels:
a save lasts about as long as the slower of encoding and uploading, not their sum. At most
one block waits for the uploader, so memory stays a few blocks whatever the file's size.

Nothing half-written is published: on an object store a failed save aborts its multipart
upload; on a local disk the bytes go to a hidden file beside the target, renamed over it only
when complete. Either way the file saved before stays until the new one is whole.
"""

from __future__ import annotations

import hashlib
import io
import queue
import threading
import uuid
from contextlib import suppress
from typing import Any

# Bytes per block handed to the uploader: one part of an object store's multipart upload
# (S3's smallest part is 5 MiB).
WRITE_BLOCK = 5 * 2**20
_DONE = None  # put on the queue after the last block


class HashingSink(io.RawIOBase):
    """Hashes what is written and writes it to ``fs``'s file at ``path`` from a thread.

    The file is opened at the first full block or at :meth:`finish`. A failure of the file
    system is raised by the next :meth:`write` or by :meth:`finish`, with :attr:`failed_io`
    set; after any failure, :meth:`abandon` discards what was written.
    """

    def __init__(self, fs: Any, path: str) -> None:
        super().__init__()
        self._fs, self._target = fs, path
        self._path = _partial_path(path) if _is_local(fs) else path
        self._handle: Any = None
        self._digest = hashlib.sha256()
        self._position = 0
        self._pending = bytearray()
        self._blocks: queue.Queue[bytearray | None] = queue.Queue(maxsize=1)
        self._uploader: threading.Thread | None = None
        self._error: BaseException | None = None
        self.failed_io = False

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._digest.update(view)
        self._pending += view
        self._position += len(view)
        if len(self._pending) >= WRITE_BLOCK:
            self._hand_off()
        return len(view)

    def finish(self) -> None:
        """Write what is left and close the file: on an object store the upload completes
        here."""
        if self._pending or self._uploader is None:  # nothing written: still an (empty) file
            self._hand_off()
        self._stop_uploader()
        self._raise_failure()
        try:
            self._handle.close()
            if self._path != self._target:
                self._fs.mv(self._path, self._target)  # a rename in the same folder
        except Exception:
            self.failed_io = True
            raise

    def abandon(self) -> None:
        """After a failure: discard what was written (abort the upload, remove the hidden
        file), leaving the file saved before as it was. Never raises: the failure that led
        here is the one to report."""
        self._stop_uploader()
        handle, self._handle = self._handle, None
        if handle is None:
            return
        from fsspec.spec import AbstractBufferedFile

        with suppress(Exception):
            if isinstance(handle, AbstractBufferedFile) and not handle.closed:
                handle.discard()  # aborts the multipart upload; closing would upload it
                handle.closed = True
            else:
                handle.close()  # closing twice is harmless
        if self._path != self._target:
            with suppress(Exception):
                self._fs.rm_file(self._path)

    def hexdigest(self) -> str:
        """SHA-256 of every byte written."""
        return self._digest.hexdigest()

    # -- the uploader -----------------------------------------------------------------------

    def _hand_off(self) -> None:
        self._raise_failure()
        if self._uploader is None:
            self._open()
        block, self._pending = self._pending, bytearray()  # handed over, not copied
        while True:  # waits while the uploader has a block queued; stops if it failed
            try:
                self._blocks.put(block, timeout=0.1)
                return
            except queue.Full:
                self._raise_failure()

    def _open(self) -> None:
        try:
            parent = self._path.rsplit("/", 1)[0]
            if parent and parent != self._path:
                self._fs.makedirs(parent, exist_ok=True)
            self._handle = self._fs.open(self._path, "wb", block_size=WRITE_BLOCK)
        except Exception:
            self.failed_io = True
            raise
        self._uploader = threading.Thread(target=self._upload, name="flowkit-upload", daemon=True)
        self._uploader.start()

    def _upload(self) -> None:
        while (block := self._blocks.get()) is not _DONE:
            if self._error is not None:
                continue  # drain: the writer sees the error and stops handing off
            try:
                self._handle.write(block)
            except BaseException as exc:  # re-raised in the writer's thread
                self._error = exc
            del block

    def _stop_uploader(self) -> None:
        if self._uploader is None or not self._uploader.is_alive():
            return
        self._blocks.put(_DONE)
        self._uploader.join()

    def _raise_failure(self) -> None:
        if self._error is not None:
            self.failed_io = True
            raise self._error


def write_whole(fs: Any, path: str, data: bytes) -> None:
    """Write ``data`` as ``fs``'s file at ``path`` (its folder created), so that a failure
    leaves the file as it was: on a local disk through a hidden file renamed over it, on an
    object store by one request (which publishes all or nothing)."""
    folder = path.rsplit("/", 1)[0]
    if folder and folder != path:
        fs.makedirs(folder, exist_ok=True)
    if not _is_local(fs):
        fs.pipe_file(path, data)
        return
    partial = _partial_path(path)
    try:
        with fs.open(partial, "wb") as handle:
            handle.write(data)
        fs.mv(partial, path)
    except BaseException:
        with suppress(Exception):
            fs.rm_file(partial)
        raise


def _is_local(fs: Any) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocol or "local" in protocol


def _partial_path(path: str) -> str:
    folder, _, name = path.rpartition("/")
    return f"{folder}/.{name}.partial-{uuid.uuid4().hex[:12]}" if folder else f".{name}.partial"
