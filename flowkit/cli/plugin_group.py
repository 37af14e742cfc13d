"""A click group that also offers commands registered by plugins (``command.<name>``)."""

from __future__ import annotations

import click

from flowkit.registry import PluginError, registry


class PluginGroup(click.Group):
    """Built-in commands first; plugin commands are loaded only when invoked or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(registry().names("command")))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in registry().names("command"):
            return command
        try:
            loaded = registry().get("command", cmd_name)
        except PluginError as exc:
            raise click.ClickException(exc.format_message()) from exc
        return loaded if isinstance(loaded, click.Command) else None


class FlowCommandGroup(click.Group):
    """A flow file's command group that also offers plugins' flow commands (``flowcommand.<name>``).

    A flow command is registered as a factory ``make(flow) -> click.Command``, called with the
    flow's CLI state (``flow_cls``, ``flow_file``, ``graph()``, ``decorators(graph)``,
    ``settings()``) only when the command is invoked or listed.
    """

    #: The flow's CLI state, handed to each plugin's factory (set by the flow CLI).
    flow_state: object = None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(registry().names("flowcommand")))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in registry().names("flowcommand"):
            return command
        try:
            factory = registry().get("flowcommand", cmd_name)
        except PluginError as exc:
            raise click.ClickException(exc.format_message()) from exc
        made = factory(self.flow_state)
        return made if isinstance(made, click.Command) else None
