"""What only S3 needs: client set-up, conditional writes, parallel transfers and clear errors.

Listing, sizes and deletes use the generic fsspec path of :class:`RemoteBackend` over s3fs. This
module adds what S3 does differently:

* **Client.** Endpoint, profile and region come from :mod:`flowkit.settings` (which reads
  ``AWS_ENDPOINT_URL``, ``AWS_PROFILE`` ...); credentials come from the AWS SDK's standard chain
  and never pass through flowkit. There is one retry policy, botocore's ``standard`` mode
  (5xx answers, throttling, timeouts and dropped connections, exponential backoff with jitter,
  ``s3_max_attempts`` attempts); s3fs's own retry loop is switched off so the two do not
  multiply. Listings are never cached: other runners write to the same bucket.
* **Conditional writes.** An exclusive write is a PUT, or a multipart completion, with
  ``If-None-Match: *``; HTTP 412 means another writer created the key first. Servers do not
  agree on the error body (and so on the exception s3fs would make of it), so the status code
  is read from the botocore error. A server that ignores the header is detected once per
  process by a probe, and exclusive writes then use claim objects (:meth:`S3Backend._claim`).
* **Transfers.** Objects up to 32 MiB take one PUT or one GET. Larger ones are multipart uploads
  and ranged GETs of 16 MiB parts, 8 in flight, streamed out of and into the caller's buffers
  without joining or copying them whole. A multipart upload becomes visible only when it is
  completed and is aborted on failure, so no reader ever sees half an object. Ranged GETs after
  the first carry ``If-Match`` with its ETag, so an object replaced mid-read is detected.
* **Errors.** A missing bucket, refused or missing credentials and an unreachable endpoint
  become :class:`~flowkit.errors.DatastoreUnavailable` subclasses with one sentence saying what
  to fix, raised by :meth:`S3Backend.check` before a run starts.

s3fs and botocore are imported lazily: importing this module costs nothing.
"""

from __future__ import annotations

import asyncio
import functools
import io
import os
import random
import uuid
from bisect import bisect_right
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from itertools import accumulate
from typing import TYPE_CHECKING, Any, TypeVar

from flowkit.datastore.backend import RemoteBackend
from flowkit.errors import (
    BucketNotFound,
    CredentialsNotFound,
    DatastoreAccessDenied,
    DatastoreError,
    DatastoreUnavailable,
    EndpointUnreachable,
)

if TYPE_CHECKING:
    from flowkit.settings import Settings

_T = TypeVar("_T")

_SINGLE_REQUEST_MAX = 32 << 20
_PART_SIZE = 16 << 20
_MAX_PARTS = 10_000  # S3's limit per multipart upload
_PARTS_IN_FLIGHT = 8
# Bodies smaller than this are joined into one bytes object: cheaper than streaming them.
_JOIN_BELOW = 1 << 20
_READ_PIECE = 1 << 20
# Folders of claim objects end with this (and start with "."); listings leave them out.
_CLAIMS_SUFFIX = ".claims"
_PREFLIGHT_ATTEMPTS = 2
_CREDENTIAL_ERRORS = {
    "InvalidAccessKeyId": "the access key is unknown to the server",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "InvalidToken": "the session token is invalid",
    "ExpiredToken": "the session credentials have expired",
    "TokenRefreshRequired": "the session credentials have expired",
}
_THROTTLING = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded"}
_WRITER_META = "flowkit-writer"  # x-amz-meta-flowkit-writer: who created an exclusive object
_LOADER: Any = None  # botocore's data loader, shared by every client of this process
# (creator pid, profile, session): a botocore session made in advance and never used.
_SPARE_SESSION: tuple[int, str | None, Any] | None = None


class S3Backend(RemoteBackend):
    """Storage primitives for ``s3://bucket/prefix`` roots (AWS or any S3-compatible server).

    Args:
        root: ``s3://bucket`` or ``s3://bucket/prefix``.
        settings: Endpoint, profile, region, retries; read from the environment and config
            file when omitted.

    Raises:
        DatastoreError: The root names no bucket.
    """

    def __init__(self, root: str, settings: Settings | None = None) -> None:
        super().__init__(root, settings)
        if settings is None:
            from flowkit.settings import load_settings

            settings = load_settings()
        self.settings: Settings = settings
        self.bucket, _, self.prefix = self.base.partition("/")
        if not self.bucket:
            raise DatastoreError(
                f"the datastore root {root} names no bucket", hint="use s3://BUCKET/PREFIX"
            )
        self._conditional: bool | None = {"on": True, "off": False}.get(
            settings.s3_conditional_writes
        )

    @property
    def endpoint(self) -> str:
        """The S3 endpoint, as shown in messages."""
        return self.settings.s3_endpoint_url or "AWS S3"

    def _open_filesystem(self) -> Any:
        import s3fs

        fs = s3fs.S3FileSystem(
            session=_new_session(self.settings.aws_profile),
            endpoint_url=self.settings.s3_endpoint_url,
            client_kwargs=self._client_kwargs(),
            config_kwargs=self._client_config(self.settings.s3_max_attempts),
            use_listings_cache=False,
            skip_instance_cache=True,
            **self._url_options,
        )
        fs.retries = 1  # botocore's retry policy (above) is the only one
        return fs

    def _client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.settings.aws_region:
            kwargs["region_name"] = self.settings.aws_region
        if (self.settings.s3_endpoint_url or "").startswith("http://"):
            # A plain-HTTP endpoint has no TLS to verify, but botocore would still load the CA
            # bundle for every new client: 25 ms that each forked task would pay.
            kwargs["verify"] = False
        return kwargs

    def _client_config(self, attempts: int) -> dict[str, Any]:
        timeout = self.settings.s3_timeout
        return {
            "retries": {"total_max_attempts": attempts, "mode": "standard"},
            "connect_timeout": min(10.0, timeout),
            "read_timeout": timeout,
            # Payload checksums beyond what the operation requires: our blobs are verified by
            # their sha256 on read, and many S3-compatible servers reject the newer trailers.
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
        }

    def _run(self, func: Callable[..., Awaitable[_T]], *args: Any) -> _T:
        """Run a coroutine function on the filesystem's event loop and wait for it."""
        from fsspec.asyn import sync

        fs = self.fs
        return sync(fs.loop, func, fs, *args)

    def _split(self, path: str) -> tuple[str, str]:
        bucket, _, key = path.partition("/")
        return bucket, key

    # -- writing ---------------------------------------------------------------------------

    def write(self, path: str, views: list[memoryview], exclusive: bool) -> bool:
        bucket, key = self._split(path)
        if exclusive and not self._conditional_writes_work():
            return self._run(self._claim, bucket, key, views)
        writer = uuid.uuid4().hex if exclusive else None
        return self._run(_put, bucket, key, views, exclusive, writer)

    def write_new(self, path: str, views: list[memoryview]) -> bool:
        if self._conditional is not True:
            # Without a known-good If-None-Match (no probe is spent on this path): HEAD first.
            return super().write_new(path, views)
        # One conditional request: HTTP 412 means the object is already there. (Large objects
        # still get a HEAD first, in _put, so an existing blob is never uploaded again.)
        bucket, key = self._split(path)
        return self._run(_put, bucket, key, views, True)

    def _conditional_writes_work(self) -> bool:
        if self._conditional is None:
            probe = f"{self.prefix}/" if self.prefix else ""
            probe += f".flowkit{_CLAIMS_SUFFIX}/probe-{uuid.uuid4().hex}"
            self._conditional = self._run(_probe_conditional_writes, self.bucket, probe)
        return self._conditional

    async def _claim(self, fs: Any, bucket: str, key: str, views: list[memoryview]) -> bool:
        """Exclusive create for servers without ``If-None-Match``, from claim objects.

        A writer puts an object with a unique name into the key's claim folder, then lists
        the folder: it wins only if its claim is alone there, and then writes the key. With
        S3's read-after-write consistency for PUT and LIST, two writers cannot both see
        themselves alone (whichever listed first had already put its claim, so the other's
        listing shows it). Contenders that are not alone withdraw and report the key as taken,
        so under contention the key may stay unwritten; the run-id allocator then moves on
        to the next id. A winner's claim stays, so later writers never win again.
        """
        client = await fs.set_session()
        if await _head(client, bucket, key):
            return False
        folder, _, name = key.rpartition("/")
        claims = f"{folder}/.{name}{_CLAIMS_SUFFIX}/" if folder else f".{name}{_CLAIMS_SUFFIX}/"
        mine = claims + uuid.uuid4().hex
        await client.put_object(Bucket=bucket, Key=mine, Body=b"")
        listed = await client.list_objects_v2(Bucket=bucket, Prefix=claims, MaxKeys=2)
        if [entry["Key"] for entry in listed.get("Contents", [])] != [mine]:
            await client.delete_object(Bucket=bucket, Key=mine)
            return False
        return await _put(fs, bucket, key, views, False)

    # -- reading ---------------------------------------------------------------------------

    def read(self, path: str, on_chunk: Callable[[memoryview], object] | None) -> bytearray:
        bucket, key = self._split(path)
        return self._run(_get, bucket, key, on_chunk, self.settings.s3_max_attempts)

    def exists(self, path: str) -> bool:
        bucket, key = self._split(path)
        return self._run(_exists, bucket, key)

    def list(self, path: str, *, files_only: bool) -> list[str]:
        names = super().list(path, files_only=files_only)
        return [name for name in names if not _is_claims(name)]

    # -- checking and errors ---------------------------------------------------------------

    def check(self) -> None:
        """List at most one name under the root, with few retries, to find set-up problems.

        Raises:
            DatastoreUnavailable: A subclass saying what to fix.
        """
        prefix = f"{self.prefix}/" if self.prefix else ""
        with self.errors(self.url(self.base)):
            self._run(self._preflight, prefix)

    async def _preflight(self, fs: Any, prefix: str) -> None:
        from aiobotocore.config import AioConfig

        await fs.set_session()  # also warms the service models that forked tasks will reuse
        async with fs.session.create_client(
            "s3",
            config=AioConfig(**self._client_config(_PREFLIGHT_ATTEMPTS)),
            endpoint_url=self.settings.s3_endpoint_url,
            **self._client_kwargs(),
        ) as client:
            await client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)

    @contextmanager
    def errors(self, url: str) -> Iterator[None]:
        try:
            with super().errors(url):
                yield
        except FileNotFoundError as exc:
            # s3fs reports a missing bucket as a missing file.
            if _error_code(exc) == "NoSuchBucket":
                raise self._bucket_missing() from exc
            raise

    def translate(self, exc: Exception, url: str) -> DatastoreError | None:
        from botocore.exceptions import (
            ClientError,
            NoCredentialsError,
            PartialCredentialsError,
            ProfileNotFound,
        )

        found = _in_chain(exc, (ClientError, NoCredentialsError, PartialCredentialsError))
        if isinstance(found, (NoCredentialsError, PartialCredentialsError)):
            return CredentialsNotFound(
                f"no AWS credentials were found to access {url}",
                hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or "
                "configure ~/.aws/credentials",
            )
        if isinstance(_in_chain(exc, (ProfileNotFound,)), ProfileNotFound):
            return CredentialsNotFound(
                f"the AWS profile {self.settings.aws_profile!r} does not exist",
                hint="fix AWS_PROFILE (or aws_profile in the config file), or create the "
                "profile with: aws configure --profile NAME",
            )
        if isinstance(found, ClientError):
            return self._client_error(found, url)
        reason = _connection_failure(exc)
        if reason:
            return EndpointUnreachable(
                f"cannot reach the S3 endpoint {self.endpoint} for {url}: {reason}, even "
                "after retrying",
                hint="check that the server is running and that AWS_ENDPOINT_URL (or "
                "s3_endpoint_url in the config file) names it",
            )
        return super().translate(exc, url)

    def _client_error(self, exc: Any, url: str) -> DatastoreError:
        code = _error_code(exc) or ""
        status = _status(exc)
        message = exc.response.get("Error", {}).get("Message", "")
        if code == "NoSuchBucket":
            return self._bucket_missing()
        if code in _CREDENTIAL_ERRORS:
            return DatastoreAccessDenied(
                f"the S3 server at {self.endpoint} refused the credentials for {url}: "
                f"{_CREDENTIAL_ERRORS[code]} ({code})",
                hint="check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the profile named "
                "by AWS_PROFILE",
            )
        if status == 403 or code in ("AccessDenied", "AllAccessDisabled"):
            return DatastoreAccessDenied(
                f"access to {url} was denied ({code or status}{': ' + message if message else ''})",
                hint="grant these credentials s3:ListBucket, s3:GetObject, s3:PutObject and "
                "s3:DeleteObject on the bucket, or use other credentials (AWS_PROFILE)",
            )
        if (status or 0) >= 500 or code in _THROTTLING:
            return DatastoreUnavailable(
                f"the S3 server at {self.endpoint} kept failing for {url} ({code or status}), "
                f"even after {self.settings.s3_max_attempts} attempts",
                hint="try again later and resume the run; raise FLOWKIT_S3_MAX_ATTEMPTS if the "
                "server is often overloaded",
            )
        return DatastoreError(f"S3 refused an operation on {url}: {code or status} {message}")

    def _bucket_missing(self) -> BucketNotFound:
        return BucketNotFound(
            f"the bucket {self.bucket!r} does not exist at {self.endpoint}",
            hint=f"create it (aws s3 mb s3://{self.bucket}) or point FLOWKIT_DATASTORE_ROOT at "
            "an existing bucket",
        )


def _new_session(profile: str | None) -> Any:
    """A botocore session for a new filesystem, as cheap as possible in forked tasks.

    One data loader per process (inherited by forks) keeps the parsed service models, so a
    client takes milliseconds instead of ~200 ms to create. The first session of a process
    also leaves a spare behind: a forked task takes its inherited copy instead of building
    one (~12 ms each). The spare is never used before the fork, so no lock or credential
    refresh of the parent's event loop can be caught half-way in it.
    """
    import aiobotocore.session

    global _SPARE_SESSION

    def make() -> Any:
        global _LOADER
        session = aiobotocore.session.AioSession(profile=profile)
        if _LOADER is None:
            _LOADER = session.get_component("data_loader")
        else:
            session.register_component("data_loader", _LOADER)
        return session

    pid = os.getpid()
    if _SPARE_SESSION is None:
        _SPARE_SESSION = (pid, profile, make())
    elif _SPARE_SESSION[0] != pid:  # inherited from the parent: take it once
        _, spare_profile, spare = _SPARE_SESSION
        _SPARE_SESSION = (pid, profile, None)
        if spare is not None and spare_profile == profile:
            return spare
    return make()


# -- requests (coroutines run on the filesystem's event loop) ----------------------------------


async def _put(
    fs: Any,
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

    client = await fs.set_session()
    size = sum(view.nbytes for view in views)
    extra: dict[str, Any] = {"IfNoneMatch": "*"} if exclusive else {}
    if writer:
        extra["Metadata"] = {_WRITER_META: writer}
    for attempt in range(5):
        try:
            if size <= _SINGLE_REQUEST_MAX:
                await client.put_object(
                    Bucket=bucket, Key=key, Body=_body(views, 0, size), ContentLength=size, **extra
                )
            elif exclusive and await _head(client, bucket, key):
                return False
            else:
                await _multipart_upload(client, bucket, key, views, size, extra)
            return True
        except ClientError as exc:
            if exclusive and _precondition_failed(exc):
                return writer is not None and await _written_by(client, bucket, key, writer)
            # 409: a conditional write of the same key is in flight; S3 asks to retry.
            if not (exclusive and _status(exc) == 409 and attempt < 4):
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
    part_size = max(_PART_SIZE, -(-size // _MAX_PARTS))
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


async def _get(
    fs: Any,
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

    client = await fs.set_session()

    async def request(start: int, end: int, etag: str | None) -> Any:
        try:
            return await client.get_object(
                Bucket=bucket,
                Key=key,
                Range=f"bytes={start}-{end - 1}",
                **({"IfMatch": etag} if etag else {}),
            )
        except ClientError as exc:
            if etag and _precondition_failed(exc):
                raise DatastoreError(f"the object {key} was replaced while being read") from exc
            if _error_code(exc) in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from exc
            raise

    async def retry_cut_body(attempt: int, exc: _BodyEnded) -> None:
        if attempt + 1 >= attempts:
            raise DatastoreError(f"the object {key} could not be read completely: {exc}") from exc
        await asyncio.sleep(random.uniform(0.1, 0.3) * 2**attempt)

    for attempt in range(attempts):
        try:
            first = await request(0, _PART_SIZE, None)
        except ClientError as exc:
            if _status(exc) == 416:  # only an empty object has no byte 0
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
        end = min(start + _PART_SIZE, total)
        for attempt in range(attempts):
            part = await request(start, end, etag)
            try:
                await _fill(part["Body"], view[start:end], key)
                break
            except _BodyEnded as exc:
                await retry_cut_body(attempt, exc)
        feeder.done(start, end)

    jobs = [functools.partial(fetch, s) for s in range(first_length, total, _PART_SIZE)]
    await _bounded_gather(jobs, _PARTS_IN_FLIGHT)
    return buf


async def _exists(fs: Any, bucket: str, key: str) -> bool:
    return await _head(await fs.set_session(), bucket, key)


async def _head(client: Any, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        await client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _status(exc) == 404 and _error_code(exc) != "NoSuchBucket":
            return False
        raise
    return True


async def _probe_conditional_writes(fs: Any, bucket: str, key: str) -> bool:
    """Whether the server refuses a PUT with ``If-None-Match: *`` over an existing object."""
    from botocore.exceptions import ClientError

    client = await fs.set_session()
    await client.put_object(Bucket=bucket, Key=key, Body=b"")
    try:
        await client.put_object(Bucket=bucket, Key=key, Body=b"", IfNoneMatch="*")
    except ClientError as exc:
        if _precondition_failed(exc):
            return True
        if _status(exc) in (400, 501):  # the header is rejected as unsupported
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


# -- classifying errors ---------------------------------------------------------------------


def _in_chain(exc: BaseException, kinds: tuple[type, ...]) -> BaseException | None:
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

    found = _in_chain(exc, (ClientError,))
    return getattr(found, "response", None) or {}


def _error_code(exc: BaseException) -> str | None:
    return _response(exc).get("Error", {}).get("Code")


def _status(exc: BaseException) -> int | None:
    return _response(exc).get("ResponseMetadata", {}).get("HTTPStatusCode")


def _precondition_failed(exc: BaseException) -> bool:
    """Whether a conditional request failed (HTTP 412), however the server words it."""
    return _status(exc) == 412 or _error_code(exc) in ("PreconditionFailed", "412")


def _connection_failure(exc: BaseException) -> str:
    """Why no answer came, in a few words, or ``""`` when ``exc`` is not a connection failure."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import (
        ConnectTimeoutError,
        EndpointConnectionError,
        HTTPClientError,
        ReadTimeoutError,
    )
    from fsspec.exceptions import FSTimeoutError

    reasons: list[tuple[type[BaseException], str]] = [
        (EndpointConnectionError, "the connection was refused or failed"),
        (ConnectTimeoutError, "connecting timed out"),
        (ReadTimeoutError, "it did not answer in time"),
        (FSTimeoutError, "it did not answer in time"),
        (BotoConnectionError, "the connection failed"),
        (HTTPClientError, "the connection broke"),
        (ConnectionError, "the connection failed"),
        (TimeoutError, "it did not answer in time"),
    ]
    for kind, reason in reasons:
        if _in_chain(exc, (kind,)) is not None:
            return reason
    return ""


def _is_claims(name: str) -> bool:
    return name.startswith(".") and name.endswith(_CLAIMS_SUFFIX)


def describe_credentials(settings: Settings) -> str:
    """Where S3 credentials would come from, with the access key masked and no secret shown.

    Used by ``flowkit config``. Resolving the chain may query the instance-metadata service on
    a machine with no other credentials, like any AWS tool would.
    """
    try:
        import botocore.session
        from botocore.exceptions import BotoCoreError
    except ImportError:
        return "unknown: botocore is not installed (pip install 'flowkit[s3]')"
    try:
        credentials = botocore.session.Session(profile=settings.aws_profile).get_credentials()
    except BotoCoreError as exc:
        return f"unavailable: {exc}"
    if credentials is None:
        return "none found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
    key = credentials.access_key or ""
    masked = f"{key[:4]}****{key[-2:]}" if len(key) > 8 else "****"
    return f"from {credentials.method}: access key {masked}, secret key ****"
