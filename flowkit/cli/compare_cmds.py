"""``flowkit diff RUN_A RUN_B`` and ``flowkit reproduce RUN``: compare runs, re-run a run.

Both exit like ``diff(1)``: 0 when the runs are equal (the reproduction matches), 1 when they
differ, 2 on an error (a run that does not exist, a bad option).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from flowkit.errors import FlowkitError

if TYPE_CHECKING:
    from flowkit.client import ClientContext, Run

_F = TypeVar("_F", bound=Callable[..., Any])

#: Exit codes, as ``diff(1)`` uses them.
EQUAL, DIFFERENT, TROUBLE = 0, 1, 2


def _errors_exit_2(func: _F) -> _F:
    """Make every flowkit error of the command exit with 2, so 1 always means "different"."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FlowkitError as exc:
            exc.exit_code = TROUBLE
            raise

    return cast(_F, wrapper)


def _context(datastore_root: str | None) -> ClientContext:
    from flowkit.client import ClientContext

    return ClientContext(datastore_root, chosen_by="--datastore-root")


def open_runs(context: ClientContext, first: str, second: str) -> tuple[Run, Run]:
    """The two runs named on the command line.

    Each is ``Flow/run``; a bare run id takes the flow of the other argument, and when both
    are bare ids the flow is the only one that has such a run.

    Raises:
        DiffError: A bare id matches runs of several flows, or of none.
    """
    from flowkit.client.diff import DiffError
    from flowkit.datastore.flowstore import flow_names

    flows = [arg.partition("/")[0] if "/" in arg else None for arg in (first, second)]
    known = flows[0] or flows[1]
    names = []
    for arg in (first, second):
        if "/" in arg:
            names.append(arg)
            continue
        if known is None:
            storage = context.storage()
            context.check_root(storage)
            having = [f for f in flow_names(storage) if arg in context.flow_store(f).run_ids()]
            if len(having) != 1:
                raise DiffError(
                    f"the run id {arg!r} is "
                    + (f"a run of several flows: {', '.join(having)}" if having else "no run"),
                    hint="name the runs as FLOW/RUN_ID, e.g. flowkit diff TrainFlow/3 TrainFlow/4",
                )
            known = having[0]
        names.append(f"{known}/{arg}")
    return context.run(names[0]), context.run(names[1])


def _root_option(func: _F) -> _F:
    return click.option(
        "--datastore-root",
        default=None,
        help="Datastore URL or folder (default: FLOWKIT_DATASTORE_ROOT, else nearest .flowkit/).",
    )(func)


@click.command(
    "diff",
    help="Compare two runs: parameters, code, each step's artifacts, datasets read, and the "
    "first step whose outputs diverge. RUN_B may be a bare run id of RUN_A's flow. Exit code: "
    "0 equal, 1 different, 2 error.",
)
@click.argument("run_a", metavar="RUN_A")
@click.argument("run_b", metavar="RUN_B")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_root_option
@_errors_exit_2
def diff_cmd(run_a: str, run_b: str, as_json: bool, datastore_root: str | None) -> None:
    from flowkit.client.diff import diff_runs

    first, second = open_runs(_context(datastore_root), run_a, run_b)
    diff = diff_runs(first, second)
    if as_json:
        click.echo(json.dumps(diff.to_dict(), indent=2, default=str))
    else:
        click.echo(str(diff))
    # sys.exit, not click's Exit: run_cli (standalone_mode=False) drops an Exit's code
    sys.exit(EQUAL if diff.equal else DIFFERENT)


@click.command(
    "reproduce",
    help="Re-run a run's code snapshot with its parameters in a fresh run of the same "
    "datastore, and say whether its outputs (or one artifact's hash) match. Exit code: 0 "
    "match, 1 no match, 2 error.",
)
@click.argument("run", metavar="FLOW/RUN")
@click.option(
    "--artifact", metavar="STEP.NAME", default=None, help="Decide by this artifact's hash only."
)
@click.option(
    "--expect-hash", default=None, help="The hash the artifact should have (default: the run's)."
)
@click.option("--show-output", is_flag=True, help="Print the fresh run's output as it runs.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_root_option
@_errors_exit_2
def reproduce_cmd(
    run: str,
    artifact: str | None,
    expect_hash: str | None,
    show_output: bool,
    as_json: bool,
    datastore_root: str | None,
) -> None:
    from flowkit.reproduce import reproduce_run

    if show_output and as_json:
        raise click.UsageError("--show-output and --json cannot go together: both use stdout")
    original = _context(datastore_root).run(run)
    outcome = reproduce_run(original, artifact, expect_hash, show_output=show_output)
    if as_json:
        click.echo(json.dumps(outcome.to_dict(), indent=2, default=str))
    else:
        click.echo(str(outcome))
        if not outcome.matches:
            click.echo("")
            click.echo(str(outcome.diff))
    sys.exit(EQUAL if outcome.matches else DIFFERENT)


COMPARE_COMMANDS = (diff_cmd, reproduce_cmd)
