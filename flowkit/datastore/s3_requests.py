"""The requests of the S3 backend, as coroutines run on the backend's event-loop thread.

Uploads stream out of the caller's buffers and downloads land in one result buffer; objects
over :data:`SINGLE_REQUEST_MAX` are split into parts of :data:`PART_SIZE`, a few in flight.
Each coroutine takes an aiobotocore S3 client as its first argument and uses only its public
request methods (the operations and parameters of boto3's S3 client), so
:class:`~flowkit.datastore.s3.S3Backend` can run it on its event loop.
"""

from __future__ import annotations

import asyncio
import functools
import io
import random
from bisect import bisect_right
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import suppress
from itertools import accumulate
from typing import Any, TypeVar

from flowkit.errors import DatastoreError

_T = TypeVar("_T")

SINGLE_REQUEST_MAX = 32 << 20
PART_SIZE = 16 << 20
_MAX_PARTS = 10_000  # S3's limit per multipart upload
_PARTS_IN_FLIGHT = 8
# Bodies smaller than this are joined into one bytes object: cheaper than streaming them.
_JOIN_BELOW = 1 << 20
_READ_PIECE = 1 << 20
_WRITER_META = "flowkit-writer"  # x-amz-meta-flowkit-writer: who created an exclusive object


async def put(
    client: Any,
    bucket: str,
    key: str,
    views: list[memoryview],
    exclusive: bool,
    writer: str | None = None,
) -> bool:
    """PUT (or multipart-upload) the object; ``False`` if ``exclusive`` and it exists.

    ``writer``, a token unique to this call, is stored in the object's metadata so that a
    412 can be told apart from the answer to our own earlier attempt: when the server applied
    the write but the answer was lost, the retry (botocore's, or aiohttp's own on a reused
    connection) finds the object already there, and the token says whose it is.
    """
    from botocore.exceptions import ClientError

    size = sum(view.nbytes for view in views)
    extra: dict[str, Any] = {"IfNoneMatch": "*"} if exclusive else {}
    if writer:
        extra["Metadata"] = {_WRITER_META: writer}
    for attempt in range(5):
        try:
            if size <= SINGLE_REQUEST_MAX:
                await client.put_object(
                    Bucket=bucket, Key=key, Body=_body(views, 0, size), ContentLength=size, **extra
                )
            elif exclusive and await head(client, bucket, key):
                return False
            else:
                await _multipart_upload(client, bucket, key, views, size, extra)
            return True
        except ClientError as exc:
            if exclusive and precondition_failed(exc):
                return writer is not None and await _written_by(client, bucket, key, writer)
            # 409: a conditional write of the same key is in flight; S3 asks to retry.
            if not (exclusive and http_status(exc) == 409 and attempt < 4):
                raise
            await asyncio.sleep(random.uniform(0.05, 0.2) * 2**attempt)
    return False  # pragma: no cover - the loop always returns or raises


async def _written_by(client: Any, bucket: str, key: str, writer: str) -> bool:
    """Whether the object at ``key`` carries ``writer``'s token."""
    from botocore.exceptions import ClientError

    try:
        head = await client.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return bool(head.get("Metadata", {}).get(_WRITER_META) == writer)


async def _multipart_upload(
    client: Any,
    bucket: str,
    key: str,
    views: list[memoryview],
    size: int,
    extra: dict[str, Any],
) -> None:
    part_size = max(PART_SIZE, -(-size // _MAX_PARTS))
    metadata = {"Metadata": extra["Metadata"]} if "Metadata" in extra else {}
    condition = {k: v for k, v in extra.items() if k != "Metadata"}
    created = await client.create_multipart_upload(Bucket=bucket, Key=key, **metadata)
    upload_id = created["UploadId"]

    async def send(number: int, start: int) -> dict[str, Any]:
        end = min(start + part_size, size)
        out = await client.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=_body(views, start, end),
            ContentLength=end - start,
        )
        return {"PartNumber": number, "ETag": out["ETag"]}

    starts = range(0, size, part_size)
    jobs = [functools.partial(send, n, s) for n, s in enumerate(starts, start=1)]
    try:
        parts = await _bounded_gather(jobs, _PARTS_IN_FLIGHT)
        await client.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
            **condition,
        )
    except BaseException:
        # The parts are invisible until completion; aborting frees them on the server.
        with suppress(Exception):
            await client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise


async def get(
    client: Any,
    bucket: str,
    key: str,
    on_chunk: Callable[[memoryview], object] | None,
    attempts: int,
) -> bytearray:
    """GET the whole object: one request when small, parallel ranged requests when large.

    botocore retries getting a response but not reading its body, so a body cut short is
    retried here, up to ``attempts`` times per part.
    """
    from botocore.exceptions import ClientError

    async def request(start: int, end: int, etag: str | None) -> Any:
        try:
            return await client.get_object(
                Bucket=bucket,
                Key=key,
                Range=f"bytes={start}-{end - 1}",
                **({"IfMatch": etag} if etag else {}),
            )
        except ClientError as exc:
            if etag and precondition_failed(exc):
                raise DatastoreError(f"the object {key} was replaced while being read") from exc
            if error_code(exc) in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from exc
            raise

    async def retry_cut_body(attempt: int, exc: _BodyEnded) -> None:
        if attempt + 1 >= attempts:
            raise DatastoreError(f"the object {key} could not be read completely: {exc}") from exc
        await asyncio.sleep(random.uniform(0.1, 0.3) * 2**attempt)

    for attempt in range(attempts):
        try:
            first = await request(0, PART_SIZE, None)
        except ClientError as exc:
            if http_status(exc) == 416:  # only an empty object has no byte 0
                return bytearray()
            raise
        content_range = first.get("ContentRange") or ""
        first_length = int(first["ContentLength"])
        total = int(content_range.rpartition("/")[2]) if "/" in content_range else first_length
        buf = bytearray(total)
        view = memoryview(buf)
        try:
            await _fill(first["Body"], view[:first_length], key)
            break
        except _BodyEnded as exc:
            await retry_cut_body(attempt, exc)
    feeder = _InOrder(view, on_chunk)
    feeder.done(0, first_length)
    etag = first.get("ETag")

    async def fetch(start: int) -> None:
        end = min(start + PART_SIZE, total)
        for attempt in range(attempts):
            part = await request(start, end, etag)
            try:
                await _fill(part["Body"], view[start:end], key)
                break
            except _BodyEnded as exc:
                await retry_cut_body(attempt, exc)
        feeder.done(start, end)

    jobs = [functools.partial(fetch, s) for s in range(first_length, total, PART_SIZE)]
    await _bounded_gather(jobs, _PARTS_IN_FLIGHT)
    return buf


async def head(client: Any, bucket: str, key: str) -> bool:
    """Whether an object is stored at ``key`` (a folder is not an object)."""
    from botocore.exceptions import ClientError

    try:
        await client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if http_status(exc) == 404 and error_code(exc) != "NoSuchBucket":
            return False
        raise
    return True


async def object_size(client: Any, bucket: str, key: str) -> int:
    """The size of the object at ``key``; ``FileNotFoundError`` when there is none."""
    from botocore.exceptions import ClientError

    try:
        answer = await client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if http_status(exc) == 404 and error_code(exc) != "NoSuchBucket":
            raise FileNotFoundError(key) from exc
        raise
    return int(answer["ContentLength"])


async def list_children(client: Any, bucket: str, prefix: str, files_only: bool) -> list[str]:
    """Names directly under ``prefix`` (which ends with ``/``, or is ``""``): objects, and
    unless ``files_only`` the sub-folders; every page of the listing."""
    names: list[str] = []
    token: dict[str, str] = {}
    while True:
        page = await client.list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/", **token)
        names.extend(entry["Key"][len(prefix) :] for entry in page.get("Contents", []))
        if not files_only:
            names.extend(
                entry["Prefix"][len(prefix) :].rstrip("/")
                for entry in page.get("CommonPrefixes", [])
            )
        if not page.get("IsTruncated") or not page.get("NextContinuationToken"):
            break
        token = {"ContinuationToken": page["NextContinuationToken"]}
    return [name for name in names if name]  # "" would be a folder marker of the prefix


async def start_upload(client: Any, bucket: str, key: str) -> str:
    """Begin a multipart upload; its id."""
    created = await client.create_multipart_upload(Bucket=bucket, Key=key)
    return str(created["UploadId"])


async def upload_part(
    client: Any, bucket: str, key: str, upload_id: str, number: int, body: bytes
) -> dict[str, Any]:
    """Send one part of a multipart upload; what its completion needs to name it."""
    out = await client.upload_part(
        Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
    )
    return {"PartNumber": number, "ETag": out["ETag"]}


async def finish_upload(
    client: Any, bucket: str, key: str, upload_id: str, parts: list[dict[str, Any]]
) -> None:
    """Complete a multipart upload: the object appears whole."""
    await client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )


async def abort_upload(client: Any, bucket: str, key: str, upload_id: str) -> None:
    """Drop a multipart upload's parts (never raises: it runs while handling a failure)."""
    with suppress(Exception):
        await client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)


async def probe_conditional_writes(client: Any, bucket: str, key: str) -> bool:
    """Whether the server refuses a PUT with ``If-None-Match: *`` over an existing object."""
    from botocore.exceptions import ClientError

    await client.put_object(Bucket=bucket, Key=key, Body=b"")
    try:
        await client.put_object(Bucket=bucket, Key=key, Body=b"", IfNoneMatch="*")
    except ClientError as exc:
        if precondition_failed(exc):
            return True
        if http_status(exc) in (400, 501):  # the header is rejected as unsupported
            return False
        raise
    finally:
        with suppress(Exception):
            await client.delete_object(Bucket=bucket, Key=key)
    return False  # the second PUT overwrote the object: the header is ignored


async def _bounded_gather(jobs: Sequence[Callable[[], Awaitable[_T]]], limit: int) -> list[_T]:
    """Run the jobs with at most ``limit`` in flight; on the first failure cancel the rest."""
    results: list[Any] = [None] * len(jobs)
    pending = iter(enumerate(jobs))

    async def worker() -> None:
        for index, job in pending:
            results[index] = await job()

    tasks = [asyncio.ensure_future(worker()) for _ in range(min(limit, len(jobs)))]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return results


class _BodyEnded(Exception):
    """A response body broke off or ended before the bytes its headers announced."""


async def _fill(body: Any, target: memoryview, key: str) -> None:
    """Copy a streamed response body into ``target``, which it must fill exactly.

    Raises:
        _BodyEnded: The body ended early or the connection broke while reading it.
    """
    filled = 0
    try:
        while filled < len(target):
            chunk = await body.read(min(_READ_PIECE, len(target) - filled))
            if not chunk:
                raise _BodyEnded(f"the body ended after {filled} of {len(target)} bytes")
            target[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
    except _BodyEnded:
        raise
    except Exception as exc:  # aiohttp, botocore and socket errors alike
        raise _BodyEnded(f"reading the body failed after {filled} bytes: {exc}") from exc
    finally:
        body.close()


class _InOrder:
    """Feeds ``on_chunk`` consecutive slices as soon as every byte before them has arrived."""

    def __init__(self, view: memoryview, on_chunk: Callable[[memoryview], object] | None) -> None:
        self._view = view
        self._on_chunk = on_chunk
        self._next = 0
        self._ready: dict[int, int] = {}

    def done(self, start: int, end: int) -> None:
        if self._on_chunk is None:
            return
        self._ready[start] = end
        while self._next in self._ready:
            end = self._ready.pop(self._next)
            self._on_chunk(self._view[self._next : end])
            self._next = end


def _body(views: list[memoryview], start: int, end: int) -> Any:
    """A request body for bytes ``start:end`` of the concatenated views, copying no more than
    needed: small bodies are joined, a whole ``bytes``/``bytearray`` is passed as it is, and
    anything else is streamed."""
    if end - start <= _JOIN_BELOW:
        return b"".join(_ViewsReader(views, start, end).slices())
    if len(views) == 1 and start == 0 and end == views[0].nbytes:
        owner = views[0].obj
        if isinstance(owner, (bytes, bytearray)) and len(owner) == end:
            return owner
    return _ViewsReader(views, start, end)


class _ViewsReader(io.RawIOBase):
    """A read-only, seekable file over bytes ``start:end`` of consecutive buffers.

    Each ``read`` copies only the bytes it returns, so streaming a large artifact's buffers
    to the network never holds a second copy of them.
    """

    def __init__(self, views: list[memoryview], start: int, end: int) -> None:
        super().__init__()
        self._views = views
        self._offsets = [0, *accumulate(v.nbytes for v in views)]
        self._start = start
        self._end = end
        self._pos = start

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def __len__(self) -> int:
        return self._end - self._start

    def tell(self) -> int:
        return self._pos - self._start

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.tell(), io.SEEK_END: len(self)}[whence]
        self._pos = self._start + max(0, min(base + offset, len(self)))
        return self.tell()

    def slices(self, limit: int | None = None) -> Iterator[memoryview]:
        """Consume up to ``limit`` bytes (all by default), yielding zero-copy slices."""
        stop = self._end if limit is None else min(self._end, self._pos + limit)
        while self._pos < stop:
            index = bisect_right(self._offsets, self._pos) - 1
            inner = self._pos - self._offsets[index]
            take = min(self._views[index].nbytes - inner, stop - self._pos)
            yield self._views[index][inner : inner + take]
            self._pos += take

    def read(self, size: int | None = -1) -> bytes:
        pieces = list(self.slices(None if size is None or size < 0 else size))
        return bytes(pieces[0]) if len(pieces) == 1 else b"".join(pieces)

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        filled = 0
        for piece in self.slices(len(target)):
            target[filled : filled + piece.nbytes] = piece
            filled += piece.nbytes
        return filled


async def delete(client: Any, bucket: str, key: str) -> None:
    """Remove the object at ``key`` (S3 answers success whether or not it exists)."""
    await client.delete_object(Bucket=bucket, Key=key)


# -- reading botocore errors ------------------------------------------------------------------


def in_chain(exc: BaseException, kinds: tuple[type, ...]) -> BaseException | None:
    """The first exception of ``kinds`` among ``exc`` and its causes (s3fs wraps botocore's)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _response(exc: BaseException) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    found = in_chain(exc, (ClientError,))
    return getattr(found, "response", None) or {}


def error_code(exc: BaseException) -> str | None:
    return _response(exc).get("Error", {}).get("Code")


def http_status(exc: BaseException) -> int | None:
    return _response(exc).get("ResponseMetadata", {}).get("HTTPStatusCode")


def precondition_failed(exc: BaseException) -> bool:
    """Whether a conditional request failed (HTTP 412), however the server words it."""
    return http_status(exc) == 412 or error_code(exc) in ("PreconditionFailed", "412")


def connection_failure(exc: BaseException) -> str:
    """Why no answer came, in a few words, or ``""`` when ``exc`` is not a connection failure."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import (
        ConnectTimeoutError,
        EndpointConnectionError,
        HTTPClientError,
        ReadTimeoutError,
    )

    reasons: list[tuple[type[BaseException], str]] = [
        (EndpointConnectionError, "the connection was refused or failed"),
        (ConnectTimeoutError, "connecting timed out"),
        (ReadTimeoutError, "it did not answer in time"),
        (BotoConnectionError, "the connection failed"),
        (HTTPClientError, "the connection broke"),
        (ConnectionError, "the connection failed"),
        (TimeoutError, "it did not answer in time"),
    ]
    for kind, reason in reasons:
        if in_chain(exc, (kind,)) is not None:
            return reason
    return ""
