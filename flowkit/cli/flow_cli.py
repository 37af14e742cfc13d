"""``python myflow.py <command>``: the command line every flow file gets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from flowkit.cli.edge import debug_from_settings, run_cli
from flowkit.cli.flow_options import decorator_options, project_for_run
from flowkit.cli.inspect import add_flow_inspect_commands
from flowkit.cli.params import check_parameters, parameter_options
from flowkit.cli.plugin_group import FlowCommandGroup
from flowkit.cli.run_cmds import add_run_commands
from flowkit.cli.spin_cmd import add_spin_command
from flowkit.dsl.flowspec import flow_source_file
from flowkit.errors import FlowkitError
from flowkit.settings import load_settings, resolve_datastore_root


class FlowCLIState:
    """What the group options decided, shared with the sub-commands."""

    #: The flow's decorators, validated by :meth:`decorators` (the runner calls their hooks);
    #: replaced, never mutated, so the empty default is not shared state.
    flow_decorators: tuple[Any, ...] = ()

    def __init__(self, flow_cls: type, flow_file: Path) -> None:
        self.flow_cls = flow_cls
        self.flow_file = flow_file
        self.datastore_root: str | None = None
        self.debug = False
        self.group_with_specs: tuple[str, ...] = ()
        #: Values of the options the flow's decorators add (``--branch``, ``--production``).
        self.flow_options: dict[str, Any] = {}

    def with_specs(self, given: tuple[str, ...] = ()) -> tuple[str, ...]:
        """``--with`` values given before the command, then the command's own (each once)."""
        return tuple(dict.fromkeys((*self.group_with_specs, *given)))

    def settings(self, **overrides: Any):
        """Effective settings with this invocation's flags applied."""
        return load_settings(datastore_root=self.datastore_root, **overrides)

    def graph(self):
        """The checked graph (raises every definition error at once)."""
        from flowkit.graph import load_graph

        graph = load_graph(self.flow_cls)
        check_parameters(self.flow_cls)
        return graph

    def decorators(self, graph: Any, with_specs: tuple[str, ...] = ()) -> Any:
        """Every step's decorators, validated (raises every misuse at once).

        The flow's own decorators are validated too and kept in :attr:`flow_decorators`.
        """
        from flowkit.decorators.resolve import resolve_flow_decorators, resolve_step_decorators

        self.flow_decorators = tuple(resolve_flow_decorators(self.flow_cls, graph))
        return resolve_step_decorators(self.flow_cls, graph, tuple(with_specs))

    def datastore(self, settings):
        """The flow's datastore, checked before any task runs (a local root is created)."""
        from flowkit.datastore.flowstore import FlowDatastore
        from flowkit.datastore.storage import ByteStorage

        storage = ByteStorage(resolve_datastore_root(settings), settings)
        storage.check()  # a missing bucket or bad credentials fail here, in one sentence
        return FlowDatastore(storage, self.flow_cls.__name__)


def _build_group(state: FlowCLIState) -> click.Group:
    flow_name = state.flow_cls.__name__

    @click.group(
        cls=FlowCommandGroup,
        help=f"Commands of the flow {flow_name} ({state.flow_file.name}).",
    )
    @click.option(
        "--datastore-root",
        default=None,
        help="Datastore URL or folder (default: nearest .flowkit/).",
    )
    @click.option("--debug", is_flag=True, help="Show flowkit's own tracebacks on errors.")
    @click.option(
        "--with",
        "with_specs",
        multiple=True,
        metavar="DECORATOR[:k=v,...]",
        help="Apply a step decorator to every step, for the command that follows "
        "(python flow.py --with retry run); merged with the command's own --with.",
    )
    def group(
        datastore_root: str | None, debug: bool, with_specs: tuple[str, ...], **flow_options: Any
    ) -> None:
        state.datastore_root = datastore_root
        state.debug = debug or debug_from_settings()
        state.group_with_specs = with_specs
        state.flow_options = flow_options

    group.params.extend(decorator_options(state.flow_cls))
    group.flow_state = state  # plugins' flow commands (flowcommand.<name>) are made from it

    @group.command(help="Check the flow's structure without running anything.")
    def check() -> None:
        graph = state.graph()
        state.decorators(graph, state.with_specs())
        project_for_run(state.flow_cls, graph.name, state.flow_options, state.settings().user)
        click.echo(f"Flow {graph.name} is valid: {len(graph.steps)} steps.")

    @group.command(help="Show the flow's steps, their docstrings and transitions.")
    def show() -> None:
        from flowkit.decorators.resolve import resolve_flow_decorators
        from flowkit.decorators.schedule import describe_deployment_triggers
        from flowkit.graph.render import render_graph

        graph = state.graph()
        # schedules and triggers take effect once deployed; shown so their times can be checked
        lines = describe_deployment_triggers(resolve_flow_decorators(state.flow_cls, graph))
        click.echo(render_graph(graph))
        if lines:
            click.echo("\nWhen deployed:\n" + "\n".join(f"  {line}" for line in lines))

    params = check_parameters(state.flow_cls)

    add_run_commands(group, state, params, parameter_options(params))
    add_flow_inspect_commands(group, state)
    add_spin_command(group, state)

    return group


def run_flow_cli(flow_cls: type) -> None:
    """Entry point used by ``MyFlow()`` at the bottom of a flow file."""
    flow_file = Path(flow_source_file(flow_cls) or sys.argv[0]).resolve()
    state = FlowCLIState(flow_cls, flow_file)
    debug = "--debug" in sys.argv[1:] or debug_from_settings()
    try:
        group = _build_group(state)
    except FlowkitError as exc:
        from flowkit.cli.edge import fail

        fail(exc, debug)
    run_cli(group, sys.argv[1:], Path(sys.argv[0]).name, lambda: state.debug or debug)
