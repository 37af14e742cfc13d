"""The deployed code, in a job that runs one task of it (Batch, Airflow, Step Functions).

A deployer stores the flow's code as a content-addressed snapshot and passes its hash to every
job. The job fetches it, extracts it to a fresh folder, works from there (so the flow's relative
paths and its own modules resolve as on the machine that deployed it) and, when it must read the
flow (its graph, its decorators), imports the flow class without starting the flow's CLI.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from flowkit.datastore.codesnap import extract_snapshot
from flowkit.datastore.flowstore import FlowDatastore
from flowkit.errors import FlowkitError
from flowkit.settings import Settings, load_settings

# The flow file is imported under this name (not ``__main__``: its CLI must not start).
_MODULE_NAME = "flowkit_deployed_flow"


def checkout_deployed_code(
    store: FlowDatastore, code: str, workdir: Path, settings: Settings | None = None
) -> None:
    """Extract code snapshot ``code`` into ``workdir``, make it the working folder and put it
    first on ``sys.path``.

    The caller owns ``workdir``: it changes back to its former folder and removes ``workdir``
    when the task is over.

    Args:
        store: The flow's datastore, which holds the snapshot.
        code: The snapshot's hash.
        workdir: An empty folder to extract into.
        settings: Read for ``code_max_mb`` (loaded when omitted).

    Raises:
        CodeSnapshotError: The snapshot is unsafe or expands past ``code_max_mb``.
        KeyError: The datastore holds no snapshot ``code``.
    """
    settings = settings or load_settings()
    # Streamed, and stopped past the limit: a small archive could expand to gigabytes.
    extract_snapshot(
        bytes(store.content.get(code)), workdir, max_bytes=int(settings.code_max_mb * 2**20)
    )
    os.chdir(workdir)
    sys.path.insert(0, str(workdir))


def load_flow_file(flow_file: Path, flow_name: str) -> type:
    """Import ``flow_file`` as a module (its ``__main__`` block does not run) and return its
    flow class ``flow_name``.

    The module stays in ``sys.modules``: the graph parser finds the class's source through it.

    Raises:
        FlowkitError: The file cannot be imported or defines no flow class ``flow_name``.
    """
    from flowkit.dsl.flowspec import FlowSpec

    spec = importlib.util.spec_from_file_location(_MODULE_NAME, flow_file)
    if spec is None or spec.loader is None:
        raise FlowkitError(f"cannot import {flow_file.name} from the code snapshot")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    flow_cls = getattr(module, flow_name, None)
    if not (isinstance(flow_cls, type) and issubclass(flow_cls, FlowSpec)):
        raise FlowkitError(
            f"the code snapshot's {flow_file.name} defines no flow {flow_name!r}",
            hint="deploy the flow again, from the flow file that defines it",
        )
    return flow_cls


def load_deployed_flow(
    store: FlowDatastore,
    code: str,
    flow_file: str,
    flow_name: str,
    workdir: Path,
    settings: Settings | None = None,
) -> type:
    """Check out code snapshot ``code`` in ``workdir`` (see :func:`checkout_deployed_code`)
    and return the flow class ``flow_name`` of its ``flow_file``.

    Args:
        store: The flow's datastore, which holds the snapshot.
        code: The snapshot's hash.
        flow_file: The flow file's path inside the snapshot.
        flow_name: The flow's class name.
        workdir: An empty folder to extract into; the working folder afterwards.
        settings: Read for ``code_max_mb`` (loaded when omitted).

    Returns:
        The flow class.

    Raises:
        CodeSnapshotError: The snapshot is unsafe or too large.
        KeyError: The datastore holds no snapshot ``code``.
        FlowkitError: The flow file defines no flow ``flow_name``.
    """
    checkout_deployed_code(store, code, workdir, settings)
    return load_flow_file(workdir / flow_file, flow_name)
