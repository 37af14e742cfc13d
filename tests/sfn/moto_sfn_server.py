"""moto's server with AWS Batch that runs jobs (``batch/moto_batch_server.py``) AND a Step
Functions that executes state machines: the AWS of the Step Functions end-to-end tests.

``python tests/sfn/moto_sfn_server.py -H 127.0.0.1 -p PORT`` is ``moto_batch_server.py`` plus
moto's ASL interpreter (config ``{"stepfunctions": {"execute_state_machine": True}}``). The
interpreter's service integrations (``batch:submitJob.sync``, ``dynamodb:getItem``) call this
same server back; moto addresses it as ``localhost``, which is pinned here to 127.0.0.1 so no
traffic leaves the loopback address the tests use.

moto 5.2.1's Batch integration forgets one step of the real service: Step Functions writes an
integration's parameters in PascalCase (``JobName``, ``ContainerOverrides``) and answers in
PascalCase (``JobId``), while the Batch API speaks camelCase; moto passes the names through
unchanged, so every ``batch:submitJob`` fails. The case conversion is added here
(:func:`_camel` / :func:`_pascal`); the state machines are not changed for it. And moto
deep-copies a state machine for each new execution, with the backend it points to — every
other execution's worker thread included, which cannot be copied once one has run, so a
server could start only one execution; the copy here leaves the backend shared
(:func:`_copy_machine_not_backend`). Last, moto also listens for a task token while a
``.sync`` job runs, and a retried attempt gets the first attempt's token, already closed, so
every retry "timed out" at once; a ``.sync`` task here waits for its job only
(:func:`_sync_waits_for_the_job`), as on AWS.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "batch"))

from moto.core.config import default_user_config
from moto.server import main as moto_main
from moto_batch_server import install as install_batch


def _pin_loopback() -> None:
    """Point the interpreter's boto3 clients at 127.0.0.1 instead of ``localhost``."""
    import boto3
    from botocore.config import Config
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.utils import boto_client as module

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        return boto3.client(
            service_name=service,
            region_name=region,
            aws_access_key_id="ak",
            aws_secret_access_key="sk",
            endpoint_url=f"http://127.0.0.1:{moto_server_port()}",
            config=Config(
                parameter_validation=False,
                retries={"max_attempts": 0, "total_max_attempts": 1},
                connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            ),
        )

    import moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_factory  # noqa: F401,E501

    original = module.boto_client_for
    for loaded in list(sys.modules.values()):
        if getattr(loaded, "boto_client_for", None) is original:
            loaded.boto_client_for = boto_client_for  # type: ignore[union-attr]


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


def _pascal(value: Any) -> Any:
    if isinstance(value, dict):
        return {key[:1].upper() + key[1:]: _pascal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_pascal(item) for item in value]
    return value


def _convert_batch_case() -> None:
    """Batch's parameters to camelCase, its answers to PascalCase, as Step Functions does."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_batch as batch,
    )

    def normalise_parameters(self: Any, parameters: dict, *args: Any, **kwargs: Any) -> None:
        converted = _camel(parameters)
        parameters.clear()
        parameters.update(converted)

    def normalise_response(self: Any, response: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(response, dict):
            converted = _pascal(response)
            response.clear()
            response.update(converted)

    batch.StateTaskServiceBatch._normalise_parameters = normalise_parameters
    batch.StateTaskServiceBatch._normalise_response = normalise_response


def _copy_machine_not_backend() -> None:
    import copy

    from moto.stepfunctions.models import StateMachine

    def deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        clone = type(self).__new__(type(self))
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            shared = key in ("backend", "executions")
            clone.__dict__[key] = value if shared else copy.deepcopy(value, memo)
        return clone

    StateMachine.__deepcopy__ = deepcopy  # type: ignore[attr-defined]


def _sync_waits_for_the_job() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition,
    )

    original = callback.StateTaskServiceCallback._eval_sync

    def eval_sync(self: Any, env: Any, sync_resolver: Any, timeout_seconds: Any, **kw: Any) -> Any:
        if self.resource.condition == ResourceCondition.Sync:
            kw["callback_endpoint"] = None
        return original(self, env, sync_resolver, timeout_seconds, **kw)

    callback.StateTaskServiceCallback._eval_sync = eval_sync


def install() -> None:
    """Batch runs jobs; Step Functions executes state machines, calling back to 127.0.0.1."""
    install_batch()
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    _pin_loopback()
    _convert_batch_case()
    _copy_machine_not_backend()
    _sync_waits_for_the_job()


if __name__ == "__main__":
    install()
    moto_main(sys.argv[1:])
