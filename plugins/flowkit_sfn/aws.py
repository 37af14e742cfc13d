"""boto3 clients for the Step Functions deployer, configured from flowkit's settings.

Credentials are never handled here: boto3's standard chain finds them (environment, profile,
instance role), and endpoints follow the standard ``AWS_ENDPOINT_URL*`` variables, as in the
Batch plugin. ``client_factory()`` is what :mod:`flowkit_sfn.events` is given as ``client``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowkit.extend import FlowkitError, Settings, load_settings


class SfnUnavailable(FlowkitError):
    """AWS could not be reached, or refused a request of the Step Functions deployer."""

    headline = "AWS Step Functions"


def client_factory(settings: Settings | None = None) -> Callable[[str], Any]:
    """A function ``client("stepfunctions")`` returning boto3 clients, one per service, made
    once, for the region and profile of ``settings`` (read when omitted).

    Raises:
        SfnUnavailable: No AWS region is configured (when the first client is made).
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    settings = settings or load_settings()
    session = boto3.session.Session(
        profile_name=settings.aws_profile, region_name=settings.aws_region
    )
    config = Config(retries={"mode": "standard"}, user_agent_extra="flowkit")
    made: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in made:
            try:
                made[service] = session.client(service, config=config)
            except NoRegionError as exc:
                raise SfnUnavailable(
                    "no AWS region is configured for AWS Step Functions",
                    hint="set FLOWKIT_AWS_REGION (or AWS_REGION) to the region to deploy to",
                ) from exc
        return made[service]

    return client


def aws_error_code(exc: BaseException) -> str:
    """The error code of a botocore ``ClientError`` (``""`` for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))
