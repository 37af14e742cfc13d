"""What S3 needs: client set-up, conditional writes, parallel transfers and clear errors.

The backend talks to S3 through aiobotocore's public client API (the same requests as boto3),
on an event-loop thread of its own; it uses no internals of s3fs, which is only used to offer an
fsspec filesystem of the same bucket (:attr:`S3Backend.fs`). So s3fs, aiobotocore and botocore
are not tied to exact releases (the supported range is in ``pyproject.toml``).

* **Client.** Endpoint, profile and region come from :mod:`flowkit.settings` (which reads
  ``AWS_ENDPOINT_URL``, ``AWS_PROFILE`` ...); credentials come from the AWS SDK's standard chain
  and never pass through flowkit. There is one retry policy, botocore's ``standard`` mode
  (5xx answers, throttling, timeouts and dropped connections, exponential backoff with jitter,
  ``s3_max_attempts`` attempts). Listings are never cached: other runners write to the same
  bucket. A forked task takes a spare client its parent built and never used (a used one
  holds the parent's connections and event loop, which do not survive a fork); aiobotocore
  2.19 to 3.x open a client's HTTP session only on its first request, which makes this safe.
* **Conditional writes.** An exclusive write is a PUT, or a multipart completion, with
  ``If-None-Match: *``; HTTP 412 means another writer created the key first. Servers do not
  agree on the error body, so the status code is read from the botocore error. The object
  carries a token of its writer in its metadata, so a 412 that answers a retry of our own
  applied-but-unanswered write is recognised as ours. A server that ignores the header is
  detected once per process by a probe, and exclusive writes then use claim objects
  (:meth:`S3Backend._claim`). Content-addressed blobs use the same conditional PUT to skip an
  upload (``write_new``), with no token needed.
* **Transfers.** Objects up to 32 MiB take one PUT or one GET. Larger ones are multipart uploads
  and ranged GETs of 16 MiB parts, 8 in flight, streamed out of and into the caller's buffers
  without joining or copying them whole. A multipart upload becomes visible only when it is
  completed and is aborted on failure, so no reader ever sees half an object. Ranged GETs after
  the first carry ``If-Match`` with its ETag, so an object replaced mid-read is detected.
* **Errors.** A missing bucket, refused or missing credentials and an unreachable endpoint
  become :class:`~flowkit.errors.DatastoreUnavailable` subclasses with one sentence saying what
  to fix, raised by :meth:`S3Backend.check` before a run starts (the translation is in
  :mod:`~flowkit.datastore.s3_errors`).

The requests themselves are coroutines in :mod:`~flowkit.datastore.s3_requests`.
"""

from __future__ import annotations

import builtins
import os
import threading
import uuid
import weakref
from collections.abc import Callable, Coroutine, Iterable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, TypeVar

import fsspec

from flowkit.datastore.backend import BackendBase
from flowkit.datastore.s3_errors import endpoint_name, translate_error
from flowkit.datastore.s3_requests import (
    PART_SIZE,
    SINGLE_REQUEST_MAX,
    abort_upload,
    delete,
    finish_upload,
    get,
    head,
    list_children,
    object_size,
    probe_conditional_writes,
    put,
    start_upload,
    upload_part,
)
from flowkit.datastore.s3_session import close_client, new_session, run
from flowkit.errors import DatastoreError

if TYPE_CHECKING:
    from flowkit.settings import Settings

_T = TypeVar("_T")

# Folders of claim objects end with this (and start with "."); listings leave them out.
_CLAIMS_SUFFIX = ".claims"
_PREFLIGHT_ATTEMPTS = 2
# Clients created before a fork, kept alive in the child and never used or closed there:
# closing them would wait for an event loop that did not survive the fork.
_INHERITED: list[Any] = []
# The operations whose models a spare client prepares for forks (see S3Backend._new_spare).
_OPERATIONS = ("GetObject", "PutObject", "HeadObject", "ListObjectsV2", "DeleteObject")


class S3Backend(BackendBase):
    """Storage primitives for ``s3://bucket/prefix`` roots (AWS or any S3-compatible server).

    Args:
        root: ``s3://bucket`` or ``s3://bucket/prefix`` (``s3a://`` is accepted too).
        settings: Endpoint, profile, region, retries; read from the environment and config
            file when omitted.

    Raises:
        ImportError: aiobotocore is not installed.
        DatastoreError: The root names no bucket.
    """

    concurrency = 8
    install_hint = "pip install 'flowkit[s3]'"

    def __init__(self, root: str, settings: Settings | None = None) -> None:
        import aiobotocore.session  # noqa: F401 - fail now, with the install hint, if missing

        if settings is None:
            from flowkit.settings import load_settings

            settings = load_settings()
        self.settings: Settings = settings
        _, path = fsspec.core.split_protocol(root)
        self.base = path.strip("/")
        self.bucket, _, prefix = self.base.partition("/")
        self.prefix = prefix.strip("/")
        if not self.bucket:
            raise DatastoreError(
                f"the datastore root {root} names no bucket", hint="use s3://BUCKET/PREFIX"
            )
        self.root = f"s3://{self.base}"
        self._conditional: bool | None = {"on": True, "off": False}.get(
            settings.s3_conditional_writes
        )
        self._client: Any = None
        self._client_pid = -1
        # (creator pid, client context, client): the spare client forks take, see _get_client
        self._spare: tuple[int, Any, Any] | None = None
        self._lock = threading.Lock()
        self._lock_pid = os.getpid()
        self._fs: Any = None
        self._fs_pid = -1

    @property
    def endpoint(self) -> str:
        """The S3 endpoint, as shown in messages."""
        return endpoint_name(self.settings)

    @property
    def fs(self) -> Any:
        """An s3fs filesystem of the same bucket and settings, for fsspec's own API.

        Made on first use in each process; the backend itself never uses it.
        """
        if self._fs_pid != os.getpid():
            import s3fs

            self._fs = s3fs.S3FileSystem(
                profile=self.settings.aws_profile,
                endpoint_url=self.settings.s3_endpoint_url,
                client_kwargs=self._client_kwargs(),
                config_kwargs=self._client_config(self.settings.s3_max_attempts),
                use_listings_cache=False,
                skip_instance_cache=True,
            )
            self._fs_pid = os.getpid()
        return self._fs

    # -- the client ------------------------------------------------------------------------

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

    def _client_context(self, attempts: int) -> Any:
        from aiobotocore.config import AioConfig

        session = new_session(self.settings.aws_profile)
        return session.create_client(
            "s3",
            endpoint_url=self.settings.s3_endpoint_url,
            config=AioConfig(**self._client_config(attempts)),
            **self._client_kwargs(),
        )

    async def _open_client(self, stack: AsyncExitStack, attempts: int) -> Any:
        return await stack.enter_async_context(self._client_context(attempts))

    async def _new_spare(self) -> tuple[Any, Any]:
        """A client for forks of this process to take, never used here (see :meth:`_get_client`).

        Entering it makes no connection: aiobotocore opens its HTTP session and connections on
        the first request, on the event loop that makes it. The service model's lazily built
        tables the requests need are built now, once, instead of in every fork.
        """
        context = self._client_context(self.settings.s3_max_attempts)
        client = await context.__aenter__()
        model = client.meta.service_model
        for operation in _OPERATIONS:
            model.operation_model(operation)
        model.shape_for_error_code("PreconditionFailed")
        return context, client

    def _get_client(self) -> Any:
        """This process's client, created on first use (again after a fork).

        Building an S3 client costs ~15 ms of CPU (credentials, endpoint rules, the client
        class), which every forked task would pay. So :meth:`check`, which the runner calls
        before it forks anything, also builds a spare client and never uses it; a fork
        inherits a copy and takes it as its own client. The copy is safe to use in the fork
        because it never made a request in the parent: it holds no connection, no event loop
        and no thread of the parent's (those are made on its first request, in the fork). A
        fork of a fork builds its own.
        """
        pid = os.getpid()
        if self._client_pid == pid:
            return self._client
        if self._lock_pid != pid:  # a lock inherited from the parent may be held forever
            self._lock, self._lock_pid = threading.Lock(), pid
        with self._lock:
            if self._client_pid != pid:
                if self._client is not None:
                    _INHERITED.append(self._client)
                stack = AsyncExitStack()
                spare, self._spare = self._spare, None
                if spare is not None and spare[0] != pid:  # inherited, never used: take it
                    _, context, client = spare
                    stack.push_async_exit(context.__aexit__)
                else:
                    client = run(self._open_client(stack, self.settings.s3_max_attempts))
                weakref.finalize(self, close_client, stack, pid)
                self._client, self._client_pid = client, pid
        return self._client

    def _run(self, func: Callable[..., Coroutine[Any, Any, _T]], *args: Any) -> _T:
        """Run a request coroutine (given the client first) on the event loop and wait."""
        return run(func(self._get_client(), *args))

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix and key else (key or self.prefix)

    # -- writing ---------------------------------------------------------------------------

    def write(self, key: str, views: list[memoryview], exclusive: bool) -> bool:
        if exclusive and not self._conditional_writes_work():
            return self._run(self._claim, self.bucket, self._key(key), views)
        writer = uuid.uuid4().hex if exclusive else None
        return self._run(put, self.bucket, self._key(key), views, exclusive, writer)

    def write_new(self, key: str, views: list[memoryview]) -> bool:
        if self._conditional is not True:
            # Without a known-good If-None-Match (no probe is spent on this path): HEAD first.
            return super().write_new(key, views)
        # One conditional request: HTTP 412 means the object is already there. (Large objects
        # still get a HEAD first, in put, so an existing blob is never uploaded again.)
        return self._run(put, self.bucket, self._key(key), views, True)

    def write_stream(self, key: str, chunks: Iterable[memoryview]) -> None:
        """One PUT when the whole fits in a single request; else a multipart upload whose
        parts are sent as the chunks arrive (at most a part and a chunk held at once)."""
        target = self._key(key)
        pending = bytearray()
        source = iter(chunks)
        for chunk in source:
            pending += chunk
            if len(pending) > SINGLE_REQUEST_MAX:
                break
        else:
            self._run(put, self.bucket, target, [memoryview(pending)], False)
            return
        upload_id = self._run(start_upload, self.bucket, target)
        parts: list[dict[str, Any]] = []
        try:
            for chunk in source:
                pending += chunk
                while len(pending) >= 2 * PART_SIZE:
                    parts.append(self._send_part(target, upload_id, len(parts) + 1, pending))
                    del pending[:PART_SIZE]
            while pending:
                last = len(pending) < 2 * PART_SIZE
                parts.append(self._send_part(target, upload_id, len(parts) + 1, pending, last))
                del pending[: len(pending) if last else PART_SIZE]
            self._run(finish_upload, self.bucket, target, upload_id, parts)
        except BaseException:
            self._run(abort_upload, self.bucket, target, upload_id)
            raise

    def _send_part(
        self, key: str, upload_id: str, number: int, pending: bytearray, last: bool = False
    ) -> dict[str, Any]:
        body = bytes(pending if last else memoryview(pending)[:PART_SIZE])
        return self._run(upload_part, self.bucket, key, upload_id, number, body)

    def _conditional_writes_work(self) -> bool:
        if self._conditional is None:
            probe = f"{self.prefix}/" if self.prefix else ""
            probe += f".flowkit{_CLAIMS_SUFFIX}/probe-{uuid.uuid4().hex}"
            self._conditional = self._run(probe_conditional_writes, self.bucket, probe)
        return self._conditional

    async def _claim(self, client: Any, bucket: str, key: str, views: list[memoryview]) -> bool:
        """Exclusive create for servers without ``If-None-Match``, from claim objects.

        A writer puts an object with a unique name into the key's claim folder, then lists
        the folder: it wins only if its claim is alone there, and then writes the key. With
        S3's read-after-write consistency for PUT and LIST, two writers cannot both see
        themselves alone (whichever listed first had already put its claim, so the other's
        listing shows it). Contenders that are not alone withdraw and report the key as taken,
        so under contention the key may stay unwritten; the run-id allocator then moves on
        to the next id. A winner's claim stays, so later writers never win again.
        """
        if await head(client, bucket, key):
            return False
        folder, _, name = key.rpartition("/")
        claims = f"{folder}/.{name}{_CLAIMS_SUFFIX}/" if folder else f".{name}{_CLAIMS_SUFFIX}/"
        mine = claims + uuid.uuid4().hex
        await client.put_object(Bucket=bucket, Key=mine, Body=b"")
        listed = await client.list_objects_v2(Bucket=bucket, Prefix=claims, MaxKeys=2)
        if [entry["Key"] for entry in listed.get("Contents", [])] != [mine]:
            await client.delete_object(Bucket=bucket, Key=mine)
            return False
        return await put(client, bucket, key, views, False)

    # -- reading ---------------------------------------------------------------------------

    def read(self, key: str, on_chunk: Callable[[memoryview], object] | None) -> bytearray:
        return self._run(get, self.bucket, self._key(key), on_chunk, self.settings.s3_max_attempts)

    def exists(self, key: str) -> bool:
        return self._run(head, self.bucket, self._key(key))

    def list(self, prefix: str, *, files_only: bool) -> builtins.list[str]:
        folder = self._key(prefix)
        names = self._run(list_children, self.bucket, f"{folder}/" if folder else "", files_only)
        return [name for name in names if not _is_claims(name)]

    def size(self, key: str) -> int:
        return self._run(object_size, self.bucket, self._key(key))

    def delete(self, key: str) -> None:
        # S3 answers a delete of a missing key with success, so ask first.
        if not self.exists(key):
            raise FileNotFoundError(key)
        self._run(delete, self.bucket, self._key(key))

    # -- checking and errors ---------------------------------------------------------------

    def check(self) -> None:
        """List at most one name under the root, with few retries, to find set-up problems.

        Raises:
            DatastoreUnavailable: A subclass saying what to fix.
        """
        prefix = f"{self.prefix}/" if self.prefix else ""
        with self.errors(self.root):
            self._get_client()  # also warms the service models that forked tasks will reuse
            if self._spare is None:  # for the processes this one forks (see _get_client)
                self._spare = (os.getpid(), *run(self._new_spare()))
            run(self._preflight(prefix))

    async def _preflight(self, prefix: str) -> None:
        async with AsyncExitStack() as stack:
            client = await self._open_client(stack, _PREFLIGHT_ATTEMPTS)
            await client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)

    def translate(self, exc: Exception, url: str) -> DatastoreError | None:
        """The :class:`DatastoreError` that explains ``exc``, or ``None`` to let it propagate."""
        return translate_error(exc, url, self.settings, self.bucket)


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
