"""``run``, ``resume`` and ``step``: the flow-file commands that execute tasks."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from flowkit.cli.exit_hooks import exit_hooks
from flowkit.cli.flow_options import project_for_run
from flowkit.cli.params import PARAM_PREFIX, resolve_values
from flowkit.dsl.parameters import Parameter
from flowkit.errors import FlowkitError, ParameterError, did_you_mean
from flowkit.user_paths import display_path

if TYPE_CHECKING:
    from flowkit.cli.flow_cli import FlowCLIState
    from flowkit.runtime.runner import Runner


_GIVEN = "flowkit.catalog_options_given"


def _catalog_setting(variable: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A callback handing an option to the tasks as the setting ``variable``: forked and
    spawned tasks alike inherit this process's environment, and read it as settings."""

    def remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None:
            is_path = variable == "FLOWKIT_CATALOG"
            os.environ[variable] = os.path.abspath(value) if is_path else str(value)
            # given on the command line: on resume it wins over the origin run's choice
            ctx.meta.setdefault(_GIVEN, set()).add(variable)
        return value

    return remember


def _execution_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by ``run`` and ``resume``."""
    func = click.option(
        "--profile",
        default=None,
        expose_value=False,
        callback=_catalog_setting("FLOWKIT_PROFILE"),
        help="Data catalog profile: where self.catalog's datasets live (default: "
        "$FLOWKIT_PROFILE, else the catalog's defaults).",
    )(func)
    func = click.option(
        "--catalog",
        default=None,
        metavar="PATH",
        expose_value=False,
        callback=_catalog_setting("FLOWKIT_CATALOG"),
        help="Data catalog file (default: catalog.toml next to the flow).",
    )(func)
    func = click.option(
        "--launcher",
        type=click.Choice(["fork", "spawn"]),
        default="fork" if hasattr(os, "fork") else "spawn",
        show_default=True,
        help="fork: tasks start as forks of this process (fast). "
        "spawn: each task starts a fresh interpreter (portable).",
    )(func)
    func = click.option("--tag", "tags", multiple=True, help="Tag the run (repeatable).")(func)
    func = click.option(
        "--run-id-file",
        default=None,
        metavar="PATH",
        help="Write the run's id to PATH (JSON) as soon as it is claimed, for programs that "
        "launch runs (flowkit.Runner).",
    )(func)
    func = click.option(
        "--with",
        "with_specs",
        multiple=True,
        metavar="DECORATOR[:k=v,...]",
        help="Apply a step decorator to every step, e.g. --with retry:times=2 (repeatable).",
    )(func)
    return click.option(
        "--max-workers",
        type=click.IntRange(min=1),
        default=None,
        help="Tasks run at once (default: number of cores).",
    )(func)


def _runner(
    state: FlowCLIState,
    max_workers: int | None,
    tags: tuple[str, ...],
    launcher: str,
    with_specs: tuple[str, ...],
    run_id_file: str | None = None,
    *,
    resume: bool = False,
) -> Runner:
    from flowkit.datastore.tags import check_tags
    from flowkit.runtime.local import ForkExecutor
    from flowkit.runtime.runner import Runner
    from flowkit.runtime.spawn import SpawnExecutor

    check_tags(tags)  # the rules of `tag add`, before anything of the run is written
    with_specs = state.with_specs(with_specs)
    graph = state.graph()
    decorators = state.decorators(graph, with_specs)
    settings = state.settings(max_workers=max_workers)
    catalog = None
    if not resume:  # a resume takes the origin run's (see resume below)
        from flowkit.catalog.travel import catalog_for_run

        # a mistyped profile, a missing catalog or a password in it stops the run here
        catalog = catalog_for_run(state.flow_file.parent, settings)
    project = project_for_run(state.flow_cls, graph.name, state.flow_options, settings.user)
    store = state.datastore(settings)
    runner = Runner(
        state.flow_cls,
        graph,
        store,
        max_workers=settings.effective_max_workers(),
        flow_file=state.flow_file,
        tags=tags,
        snapshot_warn_mb=settings.code_snapshot_warn_mb,
        executor_cls=ForkExecutor if launcher == "fork" else SpawnExecutor,
        user=settings.user,
        decorators=decorators,
        flow_decorators=list(state.flow_decorators),
        with_specs=with_specs,
        heartbeat_interval=settings.heartbeat_interval,
        heartbeat_expiry=settings.heartbeat_expiry,
        system_tags=tuple(project.system_tags()) if project else (),
        run_started=_id_writer(run_id_file, state.flow_cls.__name__, store.storage.root)
        if run_id_file
        else None,
        max_loop_iterations=settings.max_loop_iterations,
    )
    runner.catalog = catalog
    return runner


def _id_writer(path: str, flow_name: str, root: str) -> Callable[[str], None]:
    """A ``run_started`` callback writing ``{"flow", "run_id", "datastore_root"}`` to ``path``.

    Written to a neighbour and renamed, so a reader polling for ``path`` never sees half a file.
    """

    def write(run_id: str) -> None:
        import json

        data = json.dumps({"flow": flow_name, "run_id": run_id, "datastore_root": root})
        partial = f"{path}.partial"
        with open(partial, "w", encoding="utf-8") as out:
            out.write(data)
        os.replace(partial, path)

    return write


def add_run_commands(
    group: click.Group,
    state: FlowCLIState,
    params: dict[str, Parameter],
    options: list[click.Option],
) -> None:
    """Register ``run``, ``resume`` and ``step`` on a flow's command group."""
    flow_name = state.flow_cls.__name__

    @_execution_options
    def run(
        max_workers: int | None,
        tags: tuple[str, ...],
        with_specs: tuple[str, ...],
        launcher: str,
        run_id_file: str | None,
        **raw: Any,
    ) -> None:
        runner = _runner(state, max_workers, tags, launcher, with_specs, run_id_file)
        values = resolve_values(flow_name, params, raw)
        with exit_hooks(state.flow_cls, runner):
            runner.run(values)

    run_cmd = click.command("run", help=f"Run {flow_name} from start to end.")(run)
    run_cmd.params.extend(options)
    group.add_command(run_cmd)

    @_execution_options
    @click.option("--origin-run-id", default=None, help="Run to resume (default: the latest run).")
    @click.argument("step_name", required=False)
    def resume(
        step_name: str | None,
        origin_run_id: str | None,
        max_workers: int | None,
        tags: tuple[str, ...],
        with_specs: tuple[str, ...],
        launcher: str,
        run_id_file: str | None,
        **raw: Any,
    ) -> None:
        from flowkit.runtime.resume import ResumePlan, find_origin

        given = [p for attr, p in params.items() if raw.get(PARAM_PREFIX + attr) is not None]
        from flowkit.catalog.travel import catalog_for_resume

        runner = _runner(state, max_workers, tags, launcher, with_specs, run_id_file, resume=True)
        origin = find_origin(runner.store, flow_name, origin_run_id)
        if given:
            names = ", ".join(f"--{p.name}" for p in given)
            raise ParameterError(
                f"resume reuses the parameters of run {origin.pathspec} "
                f"({', '.join(f'{k}={v}' for k, v in origin.parameter_values.items()) or 'none'}); "
                f"it does not take {names}",
                hint=f"to run with new parameter values start a new run: "
                f"python {display_path(str(state.flow_file))} run {names} ...",
            )
        given_options = click.get_current_context().meta.get(_GIVEN, set())
        runner.catalog = catalog_for_resume(
            runner.store,
            origin.catalog,
            state.flow_file.parent,
            state.settings(),
            profile_given="FLOWKIT_PROFILE" in given_options,
            catalog_given="FLOWKIT_CATALOG" in given_options,
        )
        plan = ResumePlan(runner.graph, runner.store, origin, step_name)
        with exit_hooks(state.flow_cls, runner):
            runner.resume(plan)

    resume_cmd = click.command(
        "resume",
        help="Resume a run: clone the tasks that succeeded and run the rest. With STEP_NAME, "
        "re-run that step and everything after it.",
    )(resume)
    # Parameters are accepted only to refuse them with a clear message.
    resume_cmd.params.extend(options)
    group.add_command(resume_cmd)

    @group.command(help="Run one task in this interpreter (used by executors; not for daily use).")
    @click.argument("step_name")
    @click.option("--run-id", required=True)
    @click.option("--task-id", required=True)
    @click.option("--attempt", type=int, default=0)
    @click.option("--parent", "parents", multiple=True, help="run/step/task of an input task.")
    @click.option("--foreach-json", default="", help="Foreach levels of the task, as JSON.")
    @click.option("--iteration", type=int, default=0, help="Pass of a step inside a loop.")
    @click.option("--with", "with_specs", multiple=True, help="Decorators given to the run.")
    def step(
        step_name: str,
        run_id: str,
        task_id: str,
        attempt: int,
        parents: tuple[str, ...],
        foreach_json: str,
        iteration: int,
        with_specs: tuple[str, ...],
    ) -> None:
        from flowkit.runtime.entry import run_single_task, spec_from_args
        from flowkit.runtime.task import RunContext

        with_specs = state.with_specs(with_specs)
        graph = state.graph()
        if step_name not in graph:
            raise FlowkitError(
                f"the flow has no step {step_name!r}" + did_you_mean(step_name, graph.steps)
            )
        store = state.datastore(state.settings())
        record = store.run_record(run_id)
        ctx = RunContext(
            state.flow_cls,
            graph,
            store,
            run_id,
            user=record.user,
            tags=tuple(record.tags),
            origin_run_id=record.origin_run_id,
            flow_file=state.flow_file,
            decorators=state.decorators(graph, with_specs),
            with_specs=with_specs,
            system_tags=tuple(record.system_tags),
            catalog=record.catalog,
        )
        spec = spec_from_args(
            ctx, step_name, task_id, attempt, list(parents), foreach_json, iteration
        )
        manifest = run_single_task(ctx, spec)
        if manifest.status != "succeeded":
            sys.exit(1)
