"""moto_server on 127.0.0.1 with Step Functions executing state machines, for the events tests.

moto 5's Step Functions interpreter (``moto/stepfunctions/parser``) runs a state machine when
the ``stepfunctions.execute_state_machine`` option is on (set through ``/moto-api/config`` in
server mode). Its service integrations (the starter's ``states:startExecution``) call
``http://localhost:$MOTO_PORT``, so the server is started with ``MOTO_PORT`` set to its port.
The server is ``moto_sfn_events_server.py``: moto's, with integration parameters taking AWS's names
(see there why).

:class:`AwsCalls` is the ``client(service)`` factory ``deploy_events`` takes, recording every
API call the clients make (``("scheduler", "UpdateSchedule")``), so a test can show that an
unchanged re-deployment makes no update call.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
from s3servers import BUCKET, HOST, S3Server, ServerUnavailable, free_ports

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account, which any access key maps to


def start_executing_moto(workdir: Path) -> S3Server:
    """Start ``moto_sfn_events_server.py`` with Step Functions execution switched on."""
    workdir.mkdir(parents=True, exist_ok=True)
    last: Exception | None = None
    for _ in range(3):  # a port can be taken between choosing it and binding it
        [port] = free_ports(1)
        server = S3Server(
            name="moto",
            endpoint=f"http://{HOST}:{port}",
            access_key="moto-test-key",
            secret_key="moto-test-secret",
            bucket=BUCKET,
            command=[
                "env",
                f"MOTO_PORT={port}",
                sys.executable,
                str(Path(__file__).with_name("moto_sfn_events_server.py")),
                "-H",
                HOST,
                "-p",
                str(port),
            ],
            log_path=workdir / "moto.log",
        )
        try:
            server.start()
        except ServerUnavailable as exc:
            server.stop()
            last = exc
            continue
        try:
            _execute_state_machines(server.endpoint)
        except BaseException:
            server.stop()
            raise
        return server
    raise ServerUnavailable(f"moto_server did not start: {last}")


def _execute_state_machines(endpoint: str) -> None:
    config = json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()
    url = f"{endpoint}/moto-api/config"
    # moto's GET of the config omits "stepfunctions"; the tests' executions show it took.
    request = urllib.request.Request(url, data=config, method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        if answer.status != 201:
            raise ServerUnavailable(f"moto refused the config: HTTP {answer.status}")


def aws_client(server: S3Server, service: str) -> Any:
    """A boto3 client of ``service`` talking to ``server``."""
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
    )


class AwsCalls:
    """``client(service)`` for ``deploy_events``: one client per service, every call recorded."""

    def __init__(self, server: S3Server) -> None:
        self.server = server
        self.calls: list[tuple[str, str]] = []
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            made = aws_client(self.server, service)
            made.meta.events.register("before-call", self._record(service))
            self._clients[service] = made
        return self._clients[service]

    def _record(self, service: str) -> Any:
        def record(model: Any, **_: Any) -> None:
            self.calls.append((service, model.name))

        return record

    def take(self) -> list[tuple[str, str]]:
        """The calls recorded since the last ``take``."""
        calls, self.calls = self.calls, []
        return calls


def wait_for_execution(sfn: Any, execution_arn: str, timeout: float = 60.0) -> dict[str, Any]:
    """``describe_execution`` once the execution has left ``RUNNING``."""
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return dict(described)
        time.sleep(0.1)
