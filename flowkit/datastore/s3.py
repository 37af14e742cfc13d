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
  is read from the botocore error. The object carries a token of its writer in its metadata,
  so a 412 that answers a retry of our own applied-but-unanswered write is recognised as
  ours. A server that ignores the header is detected once per process by a probe, and
  exclusive writes then use claim objects (:meth:`S3Backend._claim`). Content-addressed blobs
  use the same conditional PUT to skip an upload (``write_new``), with no token needed.
* **Transfers.** Objects up to 32 MiB take one PUT or one GET. Larger ones are multipart uploads
  and ranged GETs of 16 MiB parts, 8 in flight, streamed out of and into the caller's buffers
  without joining or copying them whole. A multipart upload becomes visible only when it is
  completed and is aborted on failure, so no reader ever sees half an object. Ranged GETs after
  the first carry ``If-Match`` with its ETag, so an object replaced mid-read is detected.
* **Errors.** A missing bucket, refused or missing credentials and an unreachable endpoint
  become :class:`~flowkit.errors.DatastoreUnavailable` subclasses with one sentence saying what
  to fix, raised by :meth:`S3Backend.check` before a run starts.

The requests themselves are coroutines in :mod:`~flowkit.datastore.s3_requests`. s3fs and
botocore are imported lazily: importing this module costs nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from flowkit.datastore.backend import RemoteBackend
from flowkit.datastore.s3_requests import (
    error_code,
    exists,
    get,
    head,
    http_status,
    in_chain,
    probe_conditional_writes,
    put,
)
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
        return self._run(put, bucket, key, views, exclusive, writer)

    def write_new(self, path: str, views: list[memoryview]) -> bool:
        if self._conditional is not True:
            # Without a known-good If-None-Match (no probe is spent on this path): HEAD first.
            return super().write_new(path, views)
        # One conditional request: HTTP 412 means the object is already there. (Large objects
        # still get a HEAD first, in put, so an existing blob is never uploaded again.)
        bucket, key = self._split(path)
        return self._run(put, bucket, key, views, True)

    def _conditional_writes_work(self) -> bool:
        if self._conditional is None:
            probe = f"{self.prefix}/" if self.prefix else ""
            probe += f".flowkit{_CLAIMS_SUFFIX}/probe-{uuid.uuid4().hex}"
            self._conditional = self._run(probe_conditional_writes, self.bucket, probe)
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
        return await put(fs, bucket, key, views, False)

    # -- reading ---------------------------------------------------------------------------

    def read(self, path: str, on_chunk: Callable[[memoryview], object] | None) -> bytearray:
        bucket, key = self._split(path)
        return self._run(get, bucket, key, on_chunk, self.settings.s3_max_attempts)

    def exists(self, path: str) -> bool:
        bucket, key = self._split(path)
        return self._run(exists, bucket, key)

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
            if error_code(exc) == "NoSuchBucket":
                raise self._bucket_missing() from exc
            raise

    def translate(self, exc: Exception, url: str) -> DatastoreError | None:
        from botocore.exceptions import (
            ClientError,
            NoCredentialsError,
            PartialCredentialsError,
            ProfileNotFound,
        )

        found = in_chain(exc, (ClientError, NoCredentialsError, PartialCredentialsError))
        if isinstance(found, (NoCredentialsError, PartialCredentialsError)):
            return CredentialsNotFound(
                f"no AWS credentials were found to access {url}",
                hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or "
                "configure ~/.aws/credentials",
            )
        if isinstance(in_chain(exc, (ProfileNotFound,)), ProfileNotFound):
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
        code = error_code(exc) or ""
        status = http_status(exc)
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
        if in_chain(exc, (kind,)) is not None:
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
