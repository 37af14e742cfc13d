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
