"""``python myflow.py <command>``: the command line every flow file gets."""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path
from typing import Any

import click

from flowkit.cli.edge import run_cli
from flowkit.cli.params import check_parameters, parameter_options, resolve_values
from flowkit.errors import FlowkitError, did_you_mean
from flowkit.settings import load_settings, resolve_datastore_root


class FlowCLIState:
    """What the group options decided, shared with the sub-commands."""

    def __init__(self, flow_cls: type, flow_file: Path) -> None:
        self.flow_cls = flow_cls
        self.flow_file = flow_file
        self.datastore_root: str | None = None
        self.debug = False

    def settings(self, **overrides: Any):
        """Effective settings with this invocation's flags applied."""
        return load_settings(datastore_root=self.datastore_root, **overrides)

    def graph(self):
        """The checked graph (raises every definition error at once)."""
        from flowkit.graph import load_graph

        graph = load_graph(self.flow_cls)
        check_parameters(self.flow_cls)
        return graph

    def datastore(self, settings):
        """The flow's datastore, creating a local root on first use."""
        from flowkit.datastore.flowstore import FlowDatastore
        from flowkit.datastore.storage import ByteStorage

        root = resolve_datastore_root(settings)
        if "://" not in root:
            os.makedirs(root, exist_ok=True)
        return FlowDatastore(ByteStorage(root), self.flow_cls.__name__)


def _build_group(state: FlowCLIState) -> click.Group:
    flow_name = state.flow_cls.__name__

    @click.group(help=f"Commands of the flow {flow_name} ({state.flow_file.name}).")
    @click.option(
        "--datastore-root",
        default=None,
        help="Datastore URL or folder (default: nearest .flowkit/).",
    )
    @click.option("--debug", is_flag=True, help="Show flowkit's own tracebacks on errors.")
    def group(datastore_root: str | None, debug: bool) -> None:
        state.datastore_root = datastore_root
        state.debug = debug or load_settings().debug

    @group.command(help="Check the flow's structure without running anything.")
    def check() -> None:
        graph = state.graph()
        click.echo(f"Flow {graph.name} is valid: {len(graph.steps)} steps.")

    @group.command(help="Show the flow's steps, their docstrings and transitions.")
    def show() -> None:
        from flowkit.graph.render import render_graph

        click.echo(render_graph(state.graph()))

    params = check_parameters(state.flow_cls)

    @click.option(
        "--max-workers",
        type=click.IntRange(min=1),
        default=None,
        help="Tasks run at once (default: number of cores).",
    )
    @click.option("--tag", "tags", multiple=True, help="Tag the run (repeatable).")
    @click.option(
        "--launcher",
        type=click.Choice(["fork", "spawn"]),
        default="fork" if hasattr(os, "fork") else "spawn",
        show_default=True,
        help="fork: tasks start as forks of this process (fast). "
        "spawn: each task starts a fresh interpreter (portable).",
    )
    def run(max_workers: int | None, tags: tuple[str, ...], launcher: str, **raw: Any) -> None:
        from flowkit.runtime.local import ForkExecutor
        from flowkit.runtime.runner import Runner
        from flowkit.runtime.spawn import SpawnExecutor

        graph = state.graph()
        values = resolve_values(flow_name, params, raw)
        settings = state.settings(max_workers=max_workers)
        runner = Runner(
            state.flow_cls,
            graph,
            state.datastore(settings),
            max_workers=settings.effective_max_workers(),
            flow_file=state.flow_file,
            tags=tags,
            snapshot_warn_mb=settings.code_snapshot_warn_mb,
            executor_cls=ForkExecutor if launcher == "fork" else SpawnExecutor,
            user=settings.user,
        )
        runner.run(values)

    @group.command(help="Run one task in this interpreter (used by executors; not for daily use).")
    @click.argument("step_name")
    @click.option("--run-id", required=True)
    @click.option("--task-id", required=True)
    @click.option("--attempt", type=int, default=0)
    @click.option("--parent", "parents", multiple=True, help="run/step/task of an input task.")
    @click.option("--foreach-json", default="", help="Foreach levels of the task, as JSON.")
    def step(
        step_name: str,
        run_id: str,
        task_id: str,
        attempt: int,
        parents: tuple[str, ...],
        foreach_json: str,
    ) -> None:
        from flowkit.runtime.entry import run_single_task, spec_from_args
        from flowkit.runtime.task import RunContext

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
        )
        spec = spec_from_args(ctx, step_name, task_id, attempt, list(parents), foreach_json)
        manifest = run_single_task(ctx, spec)
        if manifest.status != "succeeded":
            sys.exit(1)

    run_cmd = click.command("run", help=f"Run {flow_name} from start to end.")(run)
    run_cmd.params.extend(parameter_options(params))
    group.add_command(run_cmd)
    return group


def run_flow_cli(flow_cls: type) -> None:
    """Entry point used by ``MyFlow()`` at the bottom of a flow file."""
    flow_file = Path(inspect.getsourcefile(flow_cls) or sys.argv[0]).resolve()
    state = FlowCLIState(flow_cls, flow_file)
    debug = "--debug" in sys.argv[1:]
    try:
        group = _build_group(state)
    except FlowkitError as exc:
        from flowkit.cli.edge import fail

        fail(exc, debug)
    run_cli(group, sys.argv[1:], Path(sys.argv[0]).name, lambda: state.debug or debug)
