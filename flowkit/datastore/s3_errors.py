"""What an S3 failure means to the user: botocore's and the network's exceptions, explained.

A missing bucket, refused or missing credentials, an unknown profile, an unreachable endpoint
and a server that kept failing become :class:`~flowkit.errors.DatastoreError` subclasses with
one sentence saying what to fix. Servers do not agree on error bodies, so the error code and the
HTTP status are both read from the botocore error (see :mod:`~flowkit.datastore.s3_requests`).
:class:`~flowkit.datastore.s3.S3Backend` uses :func:`translate_error` for every request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowkit.datastore.s3_requests import connection_failure, error_code, http_status, in_chain
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

__all__ = ["bucket_missing", "endpoint_name", "translate_error"]

_CREDENTIAL_ERRORS = {
    "InvalidAccessKeyId": "the access key is unknown to the server",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "InvalidToken": "the session token is invalid",
    "ExpiredToken": "the session credentials have expired",
    "TokenRefreshRequired": "the session credentials have expired",
}
_THROTTLING = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded"}


def endpoint_name(settings: Settings) -> str:
    """The S3 endpoint ``settings`` point at, as shown in messages."""
    return settings.s3_endpoint_url or "AWS S3"


def translate_error(
    exc: Exception, url: str, settings: Settings, bucket: str
) -> DatastoreError | None:
    """The :class:`DatastoreError` that explains ``exc``, or ``None`` to let it propagate.

    Args:
        exc: What a request (or setting up its client) raised.
        url: The object or root the request was about, named in the message.
        settings: The settings the client was made with (endpoint, profile, attempts).
        bucket: The datastore's bucket.
    """
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
            f"the AWS profile {settings.aws_profile!r} does not exist",
            hint="fix AWS_PROFILE (or aws_profile in the config file), or create the "
            "profile with: aws configure --profile NAME",
        )
    if isinstance(found, ClientError):
        return _client_error(found, url, settings, bucket)
    reason = connection_failure(exc)
    if reason:
        return EndpointUnreachable(
            f"cannot reach the S3 endpoint {endpoint_name(settings)} for {url}: {reason}, even "
            "after retrying",
            hint="check that the server is running and that AWS_ENDPOINT_URL (or "
            "s3_endpoint_url in the config file) names it",
        )
    if isinstance(exc, PermissionError):
        return DatastoreAccessDenied(
            f"access to {url} was denied ({exc})",
            hint="use credentials that may read, write and list the datastore root",
        )
    if isinstance(exc, OSError):
        return DatastoreError(f"the datastore {url} failed: {exc}")
    return None


def _client_error(exc: Any, url: str, settings: Settings, bucket: str) -> DatastoreError:
    code = error_code(exc) or ""
    status = http_status(exc)
    message = exc.response.get("Error", {}).get("Message", "")
    endpoint = endpoint_name(settings)
    if code == "NoSuchBucket":
        return bucket_missing(bucket, endpoint)
    if code in _CREDENTIAL_ERRORS:
        return DatastoreAccessDenied(
            f"the S3 server at {endpoint} refused the credentials for {url}: "
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
            f"the S3 server at {endpoint} kept failing for {url} ({code or status}), "
            f"even after {settings.s3_max_attempts} attempts",
            hint="try again later and resume the run; raise FLOWKIT_S3_MAX_ATTEMPTS if the "
            "server is often overloaded",
        )
    return DatastoreError(f"S3 refused an operation on {url}: {code or status} {message}")


def bucket_missing(bucket: str, endpoint: str) -> BucketNotFound:
    """The error for a bucket that does not exist at ``endpoint``, saying how to make it."""
    return BucketNotFound(
        f"the bucket {bucket!r} does not exist at {endpoint}",
        hint=f"create it (aws s3 mb s3://{bucket}) or point FLOWKIT_DATASTORE_ROOT at "
        "an existing bucket",
    )
