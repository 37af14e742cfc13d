"""The AWS calls the Batch executor makes: paced, retried when AWS throttles, errors explained.

Credentials are never handled here: boto3's standard chain finds them (environment, profile,
instance role), and endpoints follow the standard ``AWS_ENDPOINT_URL*`` variables.

Two layers protect against throttling. Each kind of call is paced by a token bucket below the
account's default quotas, so a wide fan-out does not provoke throttling in the first place; and
when AWS throttles anyway (other tools share the account's quota), botocore's quick retries are
followed by flowkit's own, patient ones, with exponential backoff and a notice on the console.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flowkit.extend import FlowkitError, Settings
from flowkit_batch.jobs import BatchConfigError, definition_name

_THROTTLING = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
    }
)
#: How long flowkit keeps retrying a throttled call before giving up, in seconds.
THROTTLE_PATIENCE = 300.0
_FIRST_BACKOFF = 1.0
_MAX_BACKOFF = 30.0
_DESCRIBE_CHUNK = 100  # DescribeJobs takes at most 100 ids


class BatchUnavailable(FlowkitError):
    """AWS Batch or CloudWatch Logs could not be reached, or refused a request.

    Attributes:
        code: AWS's error code when AWS answered (``"ClientException"``), else ``""``.
    """

    headline = "AWS Batch"
    code = ""


class Throttle:
    """A token bucket: on average at most ``rate`` calls per second, ``burst`` at once.

    Args:
        rate: Calls per second in the long run.
        burst: Calls allowed back to back after a quiet period.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Block until a call may be made; return the seconds waited."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1
            delay = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if delay:
            time.sleep(delay)
        return delay


class BatchApi:
    """AWS Batch and CloudWatch Logs clients with pacing, throttling retries and clear errors.

    Args:
        settings: Region and profile.
        say: Prints a notice for the user (throttling waits).

    Raises:
        BatchConfigError: No AWS region is configured.
        PluginError: boto3 is not installed (raised on import, with an install hint).
    """

    def __init__(self, settings: Settings, say: Callable[[str], None] | None = None) -> None:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import NoRegionError

        session = boto3.session.Session(
            profile_name=settings.aws_profile, region_name=settings.aws_region
        )
        # botocore retries a throttled call a couple of times quickly; the patient retries
        # are ours (see call()), so the two layers do not multiply into minutes.
        config = Config(
            retries={"mode": "standard", "total_max_attempts": 3}, user_agent_extra="flowkit"
        )
        try:
            self.batch = session.client("batch", config=config)
            self.logs = session.client("logs", config=config)
        except NoRegionError as exc:
            raise BatchConfigError(
                "no AWS region is configured for AWS Batch",
                hint="set FLOWKIT_AWS_REGION (or AWS_REGION) to the region of your job queue",
            ) from exc
        self.region = session.region_name
        self._say = say or (lambda text: None)
        self._gates = {
            "submit": Throttle(rate=10, burst=20),
            "describe": Throttle(rate=10, burst=10),
            "logs": Throttle(rate=20, burst=20),  # GetLogEvents: 25 per second per account
        }
        self._definitions: dict[str, str] = {}

    # -- the calls --------------------------------------------------------------------------

    def check_queues(self, queues: list[str]) -> None:
        """Make sure every queue exists and is enabled.

        Raises:
            BatchConfigError: A queue is missing or disabled.
            BatchUnavailable: AWS could not be asked (credentials, network).
        """
        found = self.call("describe", self.batch.describe_job_queues, jobQueues=queues)
        known = {}
        for queue in found.get("jobQueues", []):
            known[queue["jobQueueName"]] = queue
            known[queue["jobQueueArn"]] = queue
        for name in queues:
            queue = known.get(name)
            if queue is None:
                raise BatchConfigError(
                    f"the AWS Batch job queue {name!r} does not exist in region {self.region}",
                    hint="create it (see the README), or name another queue with "
                    "@batch(queue=...) or FLOWKIT_BATCH_QUEUE",
                )
            if queue.get("state") != "ENABLED":
                raise BatchConfigError(
                    f"the AWS Batch job queue {name!r} is {queue.get('state')}",
                    hint=f"enable it: aws batch update-job-queue --job-queue {name} "
                    "--state ENABLED",
                )

    def ensure_definition(self, body: dict[str, Any]) -> str:
        """The ARN of an active job definition with ``body``, registered only if there is none.

        The name is a hash of the content, so this is idempotent across runs and runners.
        """
        name = definition_name(body)
        if name in self._definitions:
            return self._definitions[name]
        found = self.call(
            "describe",
            self.batch.describe_job_definitions,
            jobDefinitionName=name,
            status="ACTIVE",
        ).get("jobDefinitions", [])
        if found:
            arn = max(found, key=lambda d: d["revision"])["jobDefinitionArn"]
        else:
            made = self.call(
                "submit", self.batch.register_job_definition, jobDefinitionName=name, **body
            )
            arn = made["jobDefinitionArn"]
            self._say(f"flowkit: registered the AWS Batch job definition {name}")
        self._definitions[name] = arn
        return arn

    def submit(self, **request: Any) -> str:
        """Submit a job; return its id."""
        return str(self.call("submit", self.batch.submit_job, **request)["jobId"])

    def describe(self, job_ids: list[str]) -> list[dict[str, Any]]:
        """Describe jobs, 100 per request."""
        jobs: list[dict[str, Any]] = []
        for start in range(0, len(job_ids), _DESCRIBE_CHUNK):
            chunk = job_ids[start : start + _DESCRIBE_CHUNK]
            jobs += self.call("describe", self.batch.describe_jobs, jobs=chunk).get("jobs", [])
        return jobs

    def terminate(self, job_id: str, reason: str) -> None:
        """Terminate a job (in any state; an array job's children with it)."""
        self.call("submit", self.batch.terminate_job, jobId=job_id, reason=reason)

    def log_lines(self, group: str, stream: str, token: str | None) -> tuple[list[str], str | None]:
        """Log lines of ``stream`` after ``token``, and the token for the next call."""
        request: dict[str, Any] = {
            "logGroupName": group,
            "logStreamName": stream,
            "startFromHead": True,
        }
        if token:
            request["nextToken"] = token
        try:
            answer = self.call("logs", self.logs.get_log_events, **request)
        except BatchUnavailable as exc:
            if exc.code == "ResourceNotFoundException":  # the stream is not created yet
                return [], token
            raise
        lines = [event["message"] for event in answer.get("events", [])]
        return lines, answer.get("nextForwardToken", token)

    # -- pacing, retries and errors ---------------------------------------------------------

    def call(self, gate: str, operation: Callable[..., Any], **request: Any) -> Any:
        """Make one AWS call, paced by ``gate`` and retried for as long as AWS throttles it.

        Raises:
            BatchUnavailable: Any other failure, or throttling beyond THROTTLE_PATIENCE.
        """
        backoff, waited = _FIRST_BACKOFF, 0.0
        name = getattr(operation, "__name__", "call")
        while True:
            self._gates[gate].wait()
            try:
                with _explained(name):
                    return operation(**request)
            except _Throttled as exc:
                if waited >= THROTTLE_PATIENCE:
                    raise BatchUnavailable(
                        f"AWS kept throttling {name} for {waited:.0f} s ({exc.code})",
                        hint="raise the account's AWS Batch API quota, or run fewer jobs at once",
                    ) from exc.__cause__
                delay = backoff * random.uniform(0.5, 1.0)
                self._say(
                    f"flowkit: AWS is throttling {name} ({exc.code}); retrying in {delay:.1f} s"
                )
                time.sleep(delay)
                waited += delay
                backoff = min(backoff * 2, _MAX_BACKOFF)


class _Throttled(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@contextmanager
def _explained(operation: str) -> Iterator[None]:
    """Turn botocore's exceptions into :class:`_Throttled` or :class:`BatchUnavailable`."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
    )

    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        if (
            code in _THROTTLING
            or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 429
        ):
            raise _Throttled(code) from exc
        refused = BatchUnavailable(
            f"AWS refused {operation}: {code}: {error.get('Message', exc)}",
            hint="check the request's names (queue, role, image) and the credentials' "
            "permissions for AWS Batch and CloudWatch Logs",
        )
        refused.code = code
        raise refused from exc
    except NoCredentialsError as exc:
        raise BatchUnavailable(
            "no AWS credentials were found to submit AWS Batch jobs",
            hint="configure credentials the usual AWS way (AWS_PROFILE / FLOWKIT_AWS_PROFILE, "
            "environment variables or an instance role)",
        ) from exc
    except EndpointConnectionError as exc:
        raise BatchUnavailable(
            f"AWS could not be reached for {operation} ({exc})",
            hint="check the network, the region and any AWS_ENDPOINT_URL setting",
        ) from exc
    except BotoCoreError as exc:
        raise BatchUnavailable(f"{operation} failed: {exc}") from exc
