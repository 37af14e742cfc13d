"""What a Batch job runs: fetch the run's code snapshot, then execute exactly one task.

``python -m flowkit_batch.bootstrap --flow F --code SHA --flow-file flow.py -- step ARGS...``
(or ``--plan SHA`` for an array job, whose child picks its arguments by
``AWS_BATCH_JOB_ARRAY_INDEX``). The datastore root comes from ``FLOWKIT_DATASTORE_ROOT``.

The snapshot is extracted to a fresh folder and the flow file is run from there as ``__main__``
with the ``step`` command — the same fresh-interpreter entry point as ``--launcher spawn`` — in
this interpreter, so the job pays for one Python start-up, not two. The task reads its inputs
from the datastore and commits its outputs, logs and manifest there itself; the exit code is
``step``'s (0 succeeded, 1 failed). Problems before the task starts exit with 2 and a message
in the job's log, which the runner shows.

The image needs only flowkit with its ``[aws]`` extra; the flow's own code comes from the
snapshot, its other dependencies from the image.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import shutil
import sys
import tempfile
from pathlib import Path

from flowkit.extend import (
    FlowDatastore,
    FlowkitError,
    checkout_deployed_code,
    load_settings,
    open_flow_datastore,
)
from flowkit_batch.multinode import (
    MAIN_NODE_INDEX,
    export_gang_environment,
    node_index,
    wait_for_peers,
)

_EXIT_SETUP = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m flowkit_batch.bootstrap",
        description="Run one flowkit task from a run's code snapshot (inside a Batch job).",
    )
    parser.add_argument("--flow", required=True, help="flow name, e.g. TrainFlow")
    parser.add_argument("--code", required=True, help="hash of the run's code snapshot")
    parser.add_argument("--flow-file", required=True, help="flow file inside the snapshot")
    parser.add_argument("--plan", help="hash of the plan blob of an array job")
    parser.add_argument("step_args", nargs=argparse.REMAINDER, help="-- step STEP ...")
    return parser


def _step_args(store: FlowDatastore, plan: str | None, given: list[str]) -> list[str]:
    given = given[1:] if given[:1] == ["--"] else given
    if plan is None:
        return given
    argvs = json.loads(bytes(store.content.get(plan)))["argv"]
    # Batch platform variables, not flowkit settings: only array children have the first,
    # only nodes of a multi-node job (a @parallel gang) the second.
    index = int(os.environ.get("AWS_BATCH_JOB_ARRAY_INDEX", "0"))
    node = node_index(os.environ)
    if node is not None:
        index = node
        export_gang_environment(os.environ, argvs)
    # What every task of the job shares (``--with`` values, which may hold secrets) travels in
    # the job's command, never in the plan blob, which is stored in the datastore.
    return [*argvs[index], *given]


def main(argv: list[str] | None = None) -> int:
    """Run the task; return the exit code (the ``step`` command's, or 2 for set-up errors)."""
    args = _parser().parse_args(argv)
    workdir: Path | None = None
    started_in = os.getcwd()
    try:
        settings = load_settings()
        if not settings.datastore_root:
            raise FlowkitError(
                "FLOWKIT_DATASTORE_ROOT is not set in the job",
                hint="submit the job with flowkit's Batch executor, which sets it",
            )
        store = open_flow_datastore(settings.datastore_root, args.flow, settings)
        step_args = _step_args(store, args.plan, args.step_args)
        task_id = step_args[step_args.index("--task-id") + 1]
        task = f"{step_args[1]}/{task_id}"
        workdir = Path(tempfile.mkdtemp(prefix="flowkit-code-"))
        checkout_deployed_code(store, args.code, workdir, settings)
    except (FlowkitError, OSError, ValueError, KeyError, IndexError) as exc:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        print(f"flowkit bootstrap: cannot start the task: {exc}", file=sys.stderr, flush=True)
        return _EXIT_SETUP
    flow_file = workdir / args.flow_file
    os.environ["FLOWKIT_TASK_ID"] = task_id
    print(
        f"flowkit bootstrap: task {task} from code snapshot {args.code[:12]} in {workdir}",
        flush=True,
    )
    sys.argv = [str(flow_file), *step_args]
    code: int = 0
    try:
        runpy.run_path(str(flow_file), run_name="__main__")
    except SystemExit as done:  # the flow's CLI ends with sys.exit(code)
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    finally:
        # a container may run many jobs (an unmanaged compute environment, a local run of
        # the bootstrap): leave its temporary folder as it was found
        os.chdir(started_in)
        shutil.rmtree(workdir, ignore_errors=True)
    node = node_index(os.environ)
    if code == 0 and args.plan is not None and node == int(os.environ.get(MAIN_NODE_INDEX, "0")):
        # Batch ends a multi-node job with its main node: stay until the gang is done
        argvs = json.loads(bytes(store.content.get(args.plan)))["argv"]
        code = wait_for_peers(store, argvs, node)
    return code


if __name__ == "__main__":
    sys.exit(main())
