"""A flow with exit hooks; each hook appends a JSON line to the file $HOOK_LOG.

HOOK_FAIL=1 makes ``start`` raise, HOOK_KILL=1 makes it send SIGTERM to the runner, and
HOOK_BREAK=1 makes the ``celebrate`` hook raise.
"""

import json
import os
import signal

from flowkit import FlowSpec, exit_hook, step


def _note(**fields):
    with open(os.environ["HOOK_LOG"], "a") as log:
        log.write(json.dumps(fields) + "\n")


def celebrate():
    print("hook: all good")
    if os.environ.get("HOOK_BREAK"):
        raise RuntimeError("the chat service is down")
    _note(hook="celebrate")


def report(run):
    if run is None:
        _note(hook="report", run=None)
        return
    failed = [task.pathspec for step_ in run for task in step_ if not task.successful]
    _note(
        hook="report",
        run=run.pathspec,
        status=run.status,
        successful=run.successful,
        failed=sorted(failed),
        origin=run.origin_run_id if hasattr(run, "origin_run_id") else None,
    )


def page_someone(run):
    raise RuntimeError("the pager is down")


@exit_hook(on_success=[celebrate, report], on_error=[page_someone, report])
class HookedFlow(FlowSpec):
    """Two steps; the first one fails or kills the runner on request."""

    @step
    def start(self):
        if os.environ.get("HOOK_KILL"):
            os.kill(os.getppid(), signal.SIGTERM)
        if os.environ.get("HOOK_FAIL"):
            raise ValueError("asked to fail")
        self.value = 1
        self.next(self.end)

    @step
    def end(self):
        print("end reached")


if __name__ == "__main__":
    HookedFlow()
