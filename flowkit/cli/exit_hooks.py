"""Calling ``@exit_hook`` functions when a run started from the command line ends.

The hooks run here, in the process that ran the run, after the runner wrote the run's end
record: the :class:`~flowkit.client.Run` a hook receives shows the final status. A hook that
fails is reported (its traceback on stderr) and the others still run; neither the run's
recorded status nor the command's exit code changes.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flowkit.decorators.attach import flow_decorators
from flowkit.decorators.exit_hook import ExitHookDecorator, hook_name, takes_run
from flowkit.errors import FlowkitError
from flowkit.runtime.progress import say, warn

if TYPE_CHECKING:
    from flowkit.client.run import Run
    from flowkit.runtime.runner import Runner


@contextmanager
def exit_hooks(flow_cls: type, runner: Runner) -> Iterator[None]:
    """Run the flow's exit hooks when the block (the run) ends, whatever way it ends.

    ``on_success`` hooks run when the block returns; ``on_error`` hooks when it raises (a
    failed, interrupted or refused run), with ``None`` for the run when it was never created.
    The block's exception is re-raised after the hooks ran.
    """
    decorators = [d for d in flow_decorators(flow_cls) if isinstance(d, ExitHookDecorator)]
    if not decorators:
        yield
        return
    succeeded = False
    try:
        yield
        succeeded = True
    finally:
        call_exit_hooks(decorators, runner, succeeded=succeeded)


def call_exit_hooks(
    decorators: list[ExitHookDecorator], runner: Runner, *, succeeded: bool
) -> list[str]:
    """Call every hook for a run that ``succeeded`` (or not), in order.

    Returns:
        The names of the hooks that failed (each was reported as a warning).
    """
    hooks = [hook for deco in decorators for hook in deco.hooks(succeeded)]
    if not hooks:
        return []
    run = _open_run(runner)
    failed = []
    for hook in hooks:
        name = hook_name(hook)
        try:
            hook(run) if takes_run(hook) else hook()
        except (Exception, SystemExit) as exc:  # the user's code: report it and go on
            failed.append(name)
            # The user's frames only, without the run's own failure it may be chained to.
            user_tb = exc.__traceback__.tb_next if exc.__traceback__ else None
            shown = "".join(traceback.format_exception(type(exc), exc, user_tb, chain=False))
            warn(f"flowkit: warning: exit hook {name} failed:\n{shown.rstrip()}")
    done = len(hooks) - len(failed)
    kind = "on_success" if succeeded else "on_error"
    say(f"Exit hooks ({kind}): {done} of {len(hooks)} ran without error")
    return failed


def _open_run(runner: Runner) -> Run | None:
    """The client's view of the run the runner executed; ``None`` when it never started."""
    if runner.run_id is None:
        return None
    from flowkit.client.context import ClientContext

    pathspec = f"{runner.graph.name}/{runner.run_id}"
    try:
        return ClientContext(runner.store.storage.root).run(pathspec)
    except (FlowkitError, OSError) as exc:
        reason = exc.message if isinstance(exc, FlowkitError) else str(exc)
        warn(f"flowkit: warning: exit hooks get no run: {pathspec} cannot be read ({reason})")
        return None


__all__ = ["call_exit_hooks", "exit_hooks"]
