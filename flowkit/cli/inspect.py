"""Looking at past runs from a terminal: ``flowkit runs | show | dump | logs | flows | tag``.

The same ``logs`` and ``dump`` are added to every flow file's command line, where pathspecs are
relative to the flow (``python train.py logs 12/train``). Everything is read through the client,
so the terminal shows what a notebook would; every command takes ``--json`` for scripts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import click

from flowkit.errors import PathspecError

if TYPE_CHECKING:
    from flowkit.client import ClientContext, Step, Task

# The client and the text layouts are imported inside the commands: every flow file's command
# line registers `logs` and `dump`, and `python flow.py check` should not pay for the datastore.

_DEFAULT_LIMIT = 20
_Entry = TypeVar("_Entry")


def _root_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--datastore-root",
        default=None,
        help="Datastore URL or folder (default: FLOWKIT_DATASTORE_ROOT, else nearest .flowkit/).",
    )(func)


def _json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(func)


def _context(datastore_root: str | None) -> ClientContext:
    from flowkit.client import ClientContext

    # The terminal shows every run: a namespace is a notebook's choice, and --tag filters.
    return ClientContext(datastore_root, chosen_by="--datastore-root")


def _take(runs: Iterator[_Entry], limit: int) -> tuple[list[_Entry], bool]:
    """The first ``limit`` runs (all when 0), and whether more were left out."""
    found: list[_Entry] = []
    for run in runs:
        if limit and len(found) == limit:
            return found, True
        found.append(run)
    return found, False


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def _open_task_or_step(
    pathspec: str, context: ClientContext, attempt: int | None
) -> tuple[Step | None, list[Task]]:
    from flowkit.client.pathspec import kind_of

    kind = kind_of(pathspec)
    if kind == "task":
        return None, [context.task(pathspec, attempt)]
    if kind == "step":
        step = context.step(pathspec)
        if attempt is None:
            return step, step.tasks()
        return step, [context.task(t.pathspec, attempt) for t in step]
    raise PathspecError(
        f"{pathspec!r} names a {kind}; name a step or a task",
        hint="e.g. TrainFlow/12/train (every task of the step) or TrainFlow/12/train/5",
    )


# -- the commands, shared by `flowkit` and flow files ---------------------------------------


def dump(
    context: ClientContext,
    pathspec: str,
    artifacts: tuple[str, ...],
    max_size: int,
    attempt: int | None,
    as_json: bool,
) -> None:
    """Print the artifacts of a task, or of every task of a step."""
    from flowkit.cli.inspect_text import dump_payload, echo_dump, jsonable

    step, tasks = _open_task_or_step(pathspec, context, attempt)
    payloads = [dump_payload(task, artifacts, max_size) for task in tasks]
    if as_json:
        shown = [jsonable(payload) for payload in payloads]
        _echo_json(shown[0] if step is None else {"pathspec": step.pathspec, "tasks": shown})
        return
    echo_dump(tasks, payloads, bool(artifacts))


def logs(
    context: ClientContext,
    pathspec: str,
    streams: tuple[str, ...],
    attempt: int | None,
    as_json: bool,
) -> None:
    """Print the output of a task, or of every task of a step."""
    step, tasks = _open_task_or_step(pathspec, context, attempt)
    if as_json:
        rows = [
            {"pathspec": t.pathspec, "attempt": t.current_attempt}
            | {s: getattr(t, s) for s in streams}
            for t in tasks
        ]
        _echo_json(rows[0] if step is None else {"pathspec": step.pathspec, "tasks": rows})
        return
    for task in tasks:
        if step is not None:
            click.echo(f"==> {task.pathspec} ({task.status}) <==")
        for stream in streams:
            text = getattr(task, stream)
            if text:
                click.echo(text, nl=not text.endswith("\n"), err=stream == "stderr")


def _stream_choice(stdout: bool, stderr: bool) -> tuple[str, ...]:
    if stdout == stderr:
        return ("stdout", "stderr")
    return ("stdout",) if stdout else ("stderr",)


def _dump_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--artifact",
        "artifacts",
        multiple=True,
        metavar="NAME",
        help="Print this artifact's whole value (repeatable); others are not loaded.",
    )(func)
    func = click.option(
        "--max-size",
        type=click.IntRange(min=0),
        default=1 << 20,
        show_default=True,
        help="Without --artifact, artifacts larger than this many bytes are listed, not loaded.",
    )(func)
    return click.option("--attempt", type=int, default=None, help="Attempt (default: latest).")(
        func
    )


def _logs_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--stdout", is_flag=True, help="Only standard output.")(func)
    func = click.option("--stderr", is_flag=True, help="Only standard error.")(func)
    return click.option("--attempt", type=int, default=None, help="Attempt (default: latest).")(
        func
    )


# -- `flowkit ...` -------------------------------------------------------------------------


@click.command("flows", help="List the flows that have runs in the datastore.")
@_root_option
@_json_option
def flows_cmd(datastore_root: str | None, as_json: bool) -> None:
    from flowkit.datastore.flowstore import flow_names

    context = _context(datastore_root)
    storage = context.storage()
    context.check_root(storage)
    names = flow_names(storage)
    if as_json:
        _echo_json(names)
        return
    for name in names:
        click.echo(name)


@click.command("runs", help="Table of a flow's runs, newest first.")
@click.argument("flow")
@click.option("--tag", "tags", multiple=True, help="Only runs with this tag (repeatable).")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=_DEFAULT_LIMIT,
    show_default=True,
    help="At most this many runs; 0 for all.",
)
@_root_option
@_json_option
def runs_cmd(
    flow: str, tags: tuple[str, ...], limit: int, datastore_root: str | None, as_json: bool
) -> None:
    from flowkit.cli.inspect_text import echo_runs

    found, more = _take(_context(datastore_root).flow(flow).listing(*tags), limit)
    if as_json:
        _echo_json([run.to_dict() for run in found])
        return
    echo_runs(found, more)


@click.command("show", help="A flow's runs, a run's steps, a step's tasks or a task's artifacts.")
@click.argument("pathspec")
@click.option("--code", is_flag=True, help="List the files of a run's code snapshot, with sizes.")
@click.option("--env", "env", is_flag=True, help="A run's environment: Python, platform, packages.")
@_root_option
@_json_option
def show_cmd(
    pathspec: str, code: bool, env: bool, datastore_root: str | None, as_json: bool
) -> None:
    from flowkit.cli.inspect_text import (
        echo_run,
        echo_runs,
        echo_step,
        echo_task,
        step_payload,
        step_summaries,
    )
    from flowkit.client.pathspec import kind_of

    context = _context(datastore_root)
    kind = kind_of(pathspec)
    if code:
        return _show_code(context, pathspec, kind, as_json)
    if env:
        return _show_environment(context, pathspec, kind, as_json)
    if kind == "flow":
        found, more = _take(context.flow(pathspec).listing(), _DEFAULT_LIMIT)
        return _echo_json([r.to_dict() for r in found]) if as_json else echo_runs(found, more)
    if kind == "run":
        run = context.run(pathspec)
        if as_json:
            summaries, unreadable = step_summaries(run)
            return _echo_json(
                {
                    "run": run.to_dict(),
                    "steps": [step_payload(s) for s in summaries],
                    "unreadable_tasks": unreadable,
                }
            )
        return echo_run(run)
    if kind == "step":
        step = context.step(pathspec)
        tasks = step.tasks()
        if as_json:
            return _echo_json({"pathspec": step.pathspec, "tasks": [t.to_dict() for t in tasks]})
        return echo_step(step, tasks)
    if kind == "task":
        task = context.task(pathspec)
        return _echo_json(task.to_dict()) if as_json else echo_task(task)
    raise PathspecError(
        f"{pathspec!r} names an artifact; show names a flow, run, step or task",
        hint=f"print its value with: flowkit dump {pathspec.rpartition('/')[0]} --artifact "
        f"{pathspec.rpartition('/')[2]}",
    )


def _show_code(context: ClientContext, pathspec: str, kind: str, as_json: bool) -> None:
    """``show FLOW/RUN --code``: what went into the run's code snapshot."""
    from flowkit.errors import ObjectNotFound

    if kind != "run":
        raise PathspecError(
            f"--code lists a run's code snapshot, but {pathspec!r} names a {kind}",
            hint="name a run, e.g. flowkit show TrainFlow/12 --code",
        )
    run = context.run(pathspec)
    snapshot = run.code
    if snapshot is None:
        raise ObjectNotFound(
            f"run {run.pathspec} has no code snapshot",
            hint="runs started with `python FLOW.py run` or `resume` store one",
        )
    files = snapshot.sizes
    if as_json:
        return _echo_json(
            {
                "pathspec": run.pathspec,
                "sha": snapshot.sha,
                "files": [{"path": p, "size": n} for p, n in files],
            }
        )
    total = sum(n for _, n in files)
    click.echo(f"Code snapshot of {run.pathspec} ({snapshot.sha[:12]}): {len(files)} files")
    width = max((len(f"{n:,}") for _, n in files), default=1)
    for path, size in files:
        click.echo(f"  {size:>{width},}  {path}")
    click.echo(f"  {total:>{width},}  bytes in total")


def _show_environment(context: ClientContext, pathspec: str, kind: str, as_json: bool) -> None:
    """``show FLOW/RUN --env``: the Python, platform and packages the run started with."""
    from flowkit.cli.inspect_text import echo_environment

    if kind != "run":
        raise PathspecError(
            f"--env shows a run's environment, but {pathspec!r} names a {kind}",
            hint="name a run, e.g. flowkit show TrainFlow/12 --env",
        )
    run = context.run(pathspec)
    environment = run.environment
    if as_json:
        return _echo_json(
            {
                "pathspec": run.pathspec,
                "environment_sha": run.to_dict()["environment_sha"],
                "environment": environment.to_dict() if environment is not None else None,
            }
        )
    echo_environment(run.pathspec, environment)


@click.command("dump", help="Print the artifacts of a task, or of every task of a step.")
@click.argument("pathspec")
@_dump_options
@_root_option
@_json_option
def dump_cmd(
    pathspec: str,
    artifacts: tuple[str, ...],
    max_size: int,
    attempt: int | None,
    datastore_root: str | None,
    as_json: bool,
) -> None:
    dump(_context(datastore_root), pathspec, artifacts, max_size, attempt, as_json)


@click.command("logs", help="Print what a task (or every task of a step) printed.")
@click.argument("pathspec")
@_logs_options
@_root_option
@_json_option
def logs_cmd(
    pathspec: str,
    stdout: bool,
    stderr: bool,
    attempt: int | None,
    datastore_root: str | None,
    as_json: bool,
) -> None:
    logs(_context(datastore_root), pathspec, _stream_choice(stdout, stderr), attempt, as_json)


@click.group("tag", help="Add or remove tags of a run.")
def tag_group() -> None:
    """Tag commands."""


def _tag_command(action: str) -> click.Command:
    @click.argument("run_pathspec", metavar="FLOW/RUN")
    @click.argument("tags", nargs=-1, required=True)
    @_root_option
    @_json_option
    def command(
        run_pathspec: str, tags: tuple[str, ...], datastore_root: str | None, as_json: bool
    ) -> None:

        run = _context(datastore_root).run(run_pathspec)
        (run.add_tags if action == "add" else run.remove_tags)(tags)
        now = sorted(run.tags)
        if as_json:
            _echo_json({"pathspec": run.pathspec, "tags": now})
        else:
            click.echo(f"{run.pathspec} tags: {', '.join(now) or 'none'}")

    return click.command(action, help=f"{action.capitalize()} user tags of a run.")(command)


tag_group.add_command(_tag_command("add"))
tag_group.add_command(_tag_command("remove"))

INSPECT_COMMANDS = (flows_cmd, runs_cmd, show_cmd, dump_cmd, logs_cmd, tag_group)


def add_inspect_commands(group: click.Group) -> None:
    """Register the inspection commands on the ``flowkit`` group."""
    for command in INSPECT_COMMANDS:
        group.add_command(command)


# -- `python myflow.py logs|dump` ------------------------------------------------------------


def add_flow_inspect_commands(group: click.Group, state: Any) -> None:
    """Add ``logs`` and ``dump`` to a flow file's group; pathspecs are relative to the flow.

    Args:
        group: The flow file's click group.
        state: Its ``FlowCLIState`` (flow class, the ``--datastore-root`` given).
    """
    flow_name = state.flow_cls.__name__

    def absolute(pathspec: str) -> str:
        return pathspec if pathspec.startswith(f"{flow_name}/") else f"{flow_name}/{pathspec}"

    def context() -> ClientContext:
        return _context(state.datastore_root)  # set by the group's --datastore-root

    @group.command(
        "dump", help=f"Print artifacts of a task or step of {flow_name}: RUN/STEP[/TASK]."
    )
    @click.argument("pathspec", metavar="RUN/STEP[/TASK]")
    @_dump_options
    @_json_option
    def flow_dump(
        pathspec: str, artifacts: tuple[str, ...], max_size: int, attempt: int | None, as_json: bool
    ) -> None:
        dump(context(), absolute(pathspec), artifacts, max_size, attempt, as_json)

    @group.command(
        "logs", help=f"Print the output of a task or step of {flow_name}: RUN/STEP[/TASK]."
    )
    @click.argument("pathspec", metavar="RUN/STEP[/TASK]")
    @_logs_options
    @_json_option
    def flow_logs(
        pathspec: str, stdout: bool, stderr: bool, attempt: int | None, as_json: bool
    ) -> None:
        logs(context(), absolute(pathspec), _stream_choice(stdout, stderr), attempt, as_json)
