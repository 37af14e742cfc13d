"""The portable local executor: each task in a fresh interpreter (``python flow.py step``)."""

from __future__ import annotations

import os
import sys

from flowkit.errors import RunNotFound
from flowkit.runtime.commit import close_logs
from flowkit.runtime.entry import spec_to_args
from flowkit.runtime.executor import TaskOutcome
from flowkit.runtime.local import ProcessExecutor, _Proc
from flowkit.runtime.output import LogData
from flowkit.runtime.spec import TaskSpec


class SpawnExecutor(ProcessExecutor):
    """Starts every task as a new Python process running the flow file's ``step`` command.

    Slower than forking (each task pays interpreter start-up and imports) but works where ``fork``
    is unavailable, and exercises exactly the path remote executors use. The task commits itself,
    so the outcome is read back from the datastore.
    """

    def _wants_result_pipe(self) -> bool:
        return False

    def _start(self, spec: TaskSpec, out_w: int, err_w: int, result_w: int | None) -> int:
        ctx = self.ctx
        argv = [
            sys.executable,
            str(ctx.flow_file),
            "--datastore-root",
            ctx.store.storage.root,
            *spec_to_args(ctx, spec),
        ]
        actions = [
            (os.POSIX_SPAWN_DUP2, out_w, 1),
            (os.POSIX_SPAWN_DUP2, err_w, 2),
        ]
        env = dict(os.environ, PYTHONUNBUFFERED="1", **spec.env)
        return os.posix_spawn(sys.executable, argv, env, file_actions=actions, setpgroup=0)

    def _outcome(self, proc: _Proc, logs: dict[str, LogData]) -> TaskOutcome:
        spec = proc.spec
        try:
            manifest = self.ctx.store.read_manifest(
                self.ctx.run_id, spec.step, spec.task_id, spec.attempt
            )
        except RunNotFound:  # the task died before committing: the base class says why
            return super()._outcome(proc, logs)
        close_logs(logs)  # the task stored its own copy of its output
        return TaskOutcome(spec, manifest, {}, committed=True)
