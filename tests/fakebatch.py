"""The fake AWS of the Batch tests, tutorial and benchmark: a moto server whose Batch runs jobs.

``start_fake_batch(workdir)`` starts ``batch/moto_batch_server.py`` on a free port of 127.0.0.1
and sets up what the README asks a user to create in AWS (roles, a compute environment, job
queues). The fixtures ``fake_batch`` (the server, once per session) and ``batch_flow`` (a flow
runner with an S3 datastore of its own on it, per test) are registered by ``conftest.py``;
``benchmarks/bench_batch.py`` imports the starter. ``python tests/fakebatch.py`` starts one by
hand and prints the settings that point flowkit at it (see ``tutorials/07-batch``).
"""

from __future__ import annotations

import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from flowtests import FlowRunner
from s3servers import BUCKET, HOST, S3Server, ServerUnavailable, free_ports

SERVER = Path(__file__).parent / "batch" / "moto_batch_server.py"
QUEUE = "flowkit-queue"
QUEUES = (QUEUE, "gpu-queue", "throttled-queue")
IMAGE = "example.com/flowkit-aws:1.0"  # only recorded: the fake runs jobs with this Python


_Fake = TypeVar("_Fake", bound="FakeBatch")


class FakeBatch:
    """The running server and boto3 clients for checking what flowkit did."""

    def __init__(self, server: S3Server) -> None:
        import boto3

        self.server = server
        session = boto3.session.Session(
            aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key,
            region_name="us-east-1",
        )
        self.batch = session.client("batch", endpoint_url=server.endpoint)
        self.iam = session.client("iam", endpoint_url=server.endpoint)
        self.logs = session.client("logs", endpoint_url=server.endpoint)
        self.job_role = ""

    def set_up(self) -> None:
        """What the README asks a user to create: roles, a compute environment, queues."""
        trust = '{"Version": "2012-10-17", "Statement": []}'
        service = self.iam.create_role(RoleName="batch-service", AssumeRolePolicyDocument=trust)
        job = self.iam.create_role(RoleName="flowkit-job", AssumeRolePolicyDocument=trust)
        self.job_role = job["Role"]["Arn"]
        self.batch.create_compute_environment(
            computeEnvironmentName="flowkit-ce",
            type="UNMANAGED",
            state="ENABLED",
            serviceRole=service["Role"]["Arn"],
        )
        for queue in QUEUES:
            self.batch.create_job_queue(
                jobQueueName=queue,
                state="ENABLED",
                priority=1,
                computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "flowkit-ce"}],
            )

    def flowkit_env(self, root: str, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: this process's) pointed at this server, with ``root`` as the
        datastore and the Batch settings a user would make."""
        env = self.server.env(base)
        env.update(
            FLOWKIT_DATASTORE_ROOT=root,
            FLOWKIT_BATCH_QUEUE=QUEUE,
            FLOWKIT_BATCH_IMAGE=IMAGE,
            FLOWKIT_BATCH_JOB_ROLE=self.job_role,
        )
        return env

    def jobs(self, name_prefix: str) -> list[dict]:
        """Every job whose name starts with ``name_prefix``, described (array children too)."""
        ids = []
        for queue in QUEUES:
            listed = self.batch.list_jobs(
                jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [name_prefix + "*"]}]
            )
            ids += [j["jobId"] for j in listed["jobSummaryList"]]
        found = []
        for start in range(0, len(ids), 100):
            found += self.batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]
        return found


def start_fake_batch(workdir: Path) -> FakeBatch:
    """Start the server (trying a few ports) and set it up.

    Raises:
        ServerUnavailable: It did not start; the message has the end of its log.
    """
    return start_fake_aws(workdir, SERVER, FakeBatch, "Batch")


def start_fake_aws(workdir: Path, script: Path, fake_cls: type[_Fake], what: str) -> _Fake:
    """Start the moto-based server ``script`` on a free port (trying a few) and set it up as
    ``fake_cls`` does; shared by the fake Batch and the fake Step Functions.

    Raises:
        ServerUnavailable: It did not start; the message has the end of its log.
    """
    last: Exception | None = None
    for _ in range(3):  # a port can be taken between choosing it and binding it
        [port] = free_ports(1)
        server = S3Server(
            name=f"moto-{what.lower().replace(' ', '-')}",
            endpoint=f"http://{HOST}:{port}",
            access_key="submitter-key",
            secret_key="submitter-secret-" + uuid.uuid4().hex,
            bucket=BUCKET,
            command=[sys.executable, str(script), "-H", HOST, "-p", str(port)],
            log_path=workdir / "server.log",
        )
        try:
            server.start()
        except ServerUnavailable as exc:
            server.stop()
            last = exc
            continue
        fake = fake_cls(server)
        try:
            fake.set_up()
        except Exception:
            server.stop()
            raise
        return fake
    raise ServerUnavailable(f"the fake {what} server did not start: {last}")


def wait_for(condition, timeout: float = 20.0, step: float = 0.1):
    """Poll ``condition`` until it returns something truthy; return that, or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture(scope="session")
def fake_batch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeBatch]:
    """The server, started once for the session and stopped at its end."""
    try:
        fake = start_fake_batch(tmp_path_factory.mktemp("fake-batch"))
    except ServerUnavailable as exc:
        pytest.fail(f"the fake Batch server cannot start: {exc}")
    try:
        yield fake
    finally:
        fake.server.stop()


class BatchFlowRunner(FlowRunner):
    """Runs flows against the fake AWS, each test with its own datastore prefix."""

    def __init__(self, fake: FakeBatch, cwd: Path) -> None:
        super().__init__(cwd / "unused", cwd)
        self.fake = fake
        self.prefix = f"batch-tests/{uuid.uuid4().hex[:12]}"
        self.url = fake.server.url(self.prefix)
        self.env = fake.flowkit_env(self.url, self.env)
        self.env["FLOWKIT_BATCH_POLL_INTERVAL"] = "0.5"

    def jobs(self, name_prefix: str) -> list[dict]:
        """This test's jobs (by datastore root) whose names start with ``name_prefix``."""

        def root(job: dict) -> str | None:
            env = job.get("container", {}).get("environment", [])
            return next((e["value"] for e in env if e["name"] == "FLOWKIT_DATASTORE_ROOT"), None)

        return [job for job in self.fake.jobs(name_prefix) if root(job) == self.url]

    def store(self, flow_name: str):
        from flowkit.datastore import ByteStorage, FlowDatastore
        from flowkit.settings import Settings

        settings = Settings(s3_endpoint_url=self.fake.server.endpoint, aws_region="us-east-1")
        return FlowDatastore(ByteStorage(self.url, settings), flow_name)


@pytest.fixture
def batch_flow(fake_batch: FakeBatch, tmp_path: Path, monkeypatch) -> BatchFlowRunner:
    """Run flows on the fake Batch; ``.store(name)`` reads their datastore from the test."""
    for name, value in fake_batch.server.aws_variables().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return BatchFlowRunner(fake_batch, tmp_path)


if __name__ == "__main__":  # pragma: no cover - a tool for trying the tutorial by hand
    fake = start_fake_batch(Path(tempfile.mkdtemp(prefix="flowkit-fake-batch-")))
    for key, value in sorted(fake.flowkit_env(fake.server.url("tutorial"), {}).items()):
        print(f"export {key}={value}")
    print("# Ctrl-C stops the fake AWS", flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        fake.server.stop()
