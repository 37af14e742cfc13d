"""The fake AWS of the Step Functions tests and tutorial: moto's server with a Batch that runs
jobs AND a Step Functions that executes state machines (``sfn/moto_sfn_server.py``).

``start_fake_sfn(workdir)`` starts it on a free port of 127.0.0.1 and sets up what the README
asks a user to create (the Batch roles, compute environment and queues of the Batch tests, and
a role for the state machines). The fixture ``fake_sfn`` (once per session) and ``sfn_env``
(per test: an S3 datastore prefix of its own and every setting ``step-functions create``
needs) are registered by ``conftest.py``. ``python tests/fakesfn.py`` starts one by hand and
prints those settings (see ``tutorials/09-step-functions``).
"""

from __future__ import annotations

import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakebatch import FakeBatch, start_fake_aws
from s3servers import S3Server, ServerUnavailable

SERVER = Path(__file__).parent / "sfn" / "moto_sfn_server.py"


class FakeSfn(FakeBatch):
    """The running server; boto3 clients for Batch, IAM, Logs, Step Functions, DynamoDB."""

    def __init__(self, server: S3Server) -> None:
        import boto3

        super().__init__(server)
        session = boto3.session.Session(
            aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key,
            region_name="us-east-1",
        )
        self.sfn = session.client("stepfunctions", endpoint_url=server.endpoint)
        self.dynamodb = session.client("dynamodb", endpoint_url=server.endpoint)
        self.sfn_role = ""

    def set_up(self) -> None:
        """The Batch set-up, plus the role Step Functions runs the state machines as."""
        super().set_up()
        trust = '{"Version": "2012-10-17", "Statement": []}'
        role = self.iam.create_role(RoleName="flowkit-sfn", AssumeRolePolicyDocument=trust)
        self.sfn_role = role["Role"]["Arn"]

    def flowkit_env(self, root: str, base: dict[str, str] | None = None) -> dict[str, str]:
        """The Batch settings and the Step Functions role, the datastore at ``root``."""
        env = super().flowkit_env(root, base)
        env.update(FLOWKIT_SFN_ROLE_ARN=self.sfn_role, FLOWKIT_AWS_REGION="us-east-1")
        return env


def start_fake_sfn(workdir: Path) -> FakeSfn:
    """Start the server (trying a few ports) and set it up.

    Raises:
        ServerUnavailable: It did not start; the message has the end of its log.
    """
    return start_fake_aws(workdir, SERVER, FakeSfn, "Step Functions")


@pytest.fixture(scope="session")
def fake_sfn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeSfn]:
    """The server, started once for the session and stopped at its end."""
    try:
        fake = start_fake_sfn(tmp_path_factory.mktemp("fake-sfn"))
    except ServerUnavailable as exc:
        pytest.fail(f"the fake Step Functions server cannot start: {exc}")
    try:
        yield fake
    finally:
        fake.server.stop()


class SfnEnv:
    """One test's settings: its own datastore prefix on the fake S3, and the fake AWS."""

    def __init__(self, fake: FakeSfn) -> None:
        self.fake = fake
        self.url = fake.server.url(f"sfn-tests/{uuid.uuid4().hex[:12]}")
        self.env = fake.flowkit_env(self.url)

    def store(self, flow_name: str):
        """The flow's datastore, read from the test."""
        from flowkit.datastore import ByteStorage, FlowDatastore
        from flowkit.settings import Settings

        settings = Settings(s3_endpoint_url=self.fake.server.endpoint, aws_region="us-east-1")
        return FlowDatastore(ByteStorage(self.url, settings), flow_name)


def client_run_at(root: str, pathspec: str):
    """The client Run ``pathspec`` of the datastore at ``root``."""
    from flowkit.client import ClientContext

    return ClientContext(root, chosen_by="the test").run(pathspec)


def client_run(env: SfnEnv, pathspec: str):
    """The client Run ``pathspec`` of the test's datastore."""
    return client_run_at(env.url, pathspec)


def wait_execution(env: SfnEnv, machine: str, run_id: str, timeout: float = 240) -> dict:
    """The execution of ``run_id`` (of state machine ``machine``) once it has stopped."""
    arn = next(
        m["stateMachineArn"]
        for m in env.fake.sfn.list_state_machines()["stateMachines"]
        if m["name"] == machine
    )
    execution = arn.replace(":stateMachine:", ":execution:") + ":" + run_id.removeprefix("sfn-")
    deadline = time.monotonic() + timeout
    while True:
        found = env.fake.sfn.describe_execution(executionArn=execution)
        if found["status"] != "RUNNING":
            return found
        assert time.monotonic() < deadline, f"execution {run_id} still running"
        time.sleep(0.3)


@pytest.fixture
def sfn_env(fake_sfn: FakeSfn, monkeypatch: pytest.MonkeyPatch) -> SfnEnv:
    """Settings for ``python flow.py step-functions ...`` against the fake AWS; the test's
    process is pointed at it too (for the client)."""
    for name, value in fake_sfn.server.aws_variables().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return SfnEnv(fake_sfn)


if __name__ == "__main__":  # pragma: no cover - a tool for trying the tutorial by hand
    fake = start_fake_sfn(Path(tempfile.mkdtemp(prefix="flowkit-fake-sfn-")))
    for key, value in sorted(fake.flowkit_env(fake.server.url("tutorial"), {}).items()):
        print(f"export {key}={value}")
    print("# Ctrl-C stops the fake AWS", flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        fake.server.stop()
