"""The ``flowkit`` command: things that are not about one flow file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from flowkit.cli.catalog_cmd import catalog_cmd
from flowkit.cli.compare_cmds import COMPARE_COMMANDS
from flowkit.cli.edge import debug_from_settings, run_cli
from flowkit.cli.inspect import add_inspect_commands
from flowkit.cli.plugin_group import PluginGroup
from flowkit.cli.registry_cmds import registry_group
from flowkit.cli.verify import verify_cmd
from flowkit.settings import describe_settings, load_settings
from flowkit.version import __version__

_debug = {"requested": False}


@click.group(cls=PluginGroup, help="flowkit: reproducible pipelines from notebook experiments.")
@click.version_option(__version__, prog_name="flowkit")
@click.option(
    "--debug", is_flag=True, help="Show flowkit's own tracebacks on errors (or FLOWKIT_DEBUG=1)."
)
def cli(debug: bool) -> None:
    """Top-level group."""
    _debug["requested"] = debug


@cli.command(help="Print the effective configuration (secrets masked).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def config(as_json: bool) -> None:
    settings = load_settings()
    values = describe_settings(settings)
    if values["datastore_root (effective)"].startswith(("s3://", "s3a://")):
        from flowkit.datastore.s3 import describe_credentials

        values["aws credentials"] = describe_credentials(settings)
    if as_json:
        click.echo(json.dumps(values, indent=2, sort_keys=True))
        return
    for key, value in values.items():
        click.echo(f"{key:28} {value}")


@cli.command(help="Check a flow file's structure without running it.")
@click.argument("flow_file", type=click.Path(exists=True, dir_okay=False))
def check(flow_file: str) -> None:
    import runpy

    from flowkit.errors import FlowSyntaxError
    from flowkit.user_paths import display_path

    try:
        # compiled first so that a syntax error of the flow file itself is reported as such
        compile(Path(flow_file).read_bytes(), flow_file, "exec")
        sys.argv = [flow_file, "check"]
        runpy.run_path(flow_file, run_name="__main__")
    except SyntaxError as exc:  # the flow file, or a module of the user's it imports
        raise FlowSyntaxError.from_syntax_error(exc, display_path(exc.filename or "")) from exc


add_inspect_commands(cli)
cli.add_command(verify_cmd)
for _command in COMPARE_COMMANDS:
    cli.add_command(_command)
cli.add_command(registry_group)
cli.add_command(catalog_cmd)


def main() -> None:
    """Console-script entry point."""
    run_cli(cli, sys.argv[1:], "flowkit", lambda: _debug["requested"] or debug_from_settings())
