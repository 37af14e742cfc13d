"""The ``flowkit`` command: things that are not about one flow file."""

from __future__ import annotations

import json
import sys

import click

from flowkit import __version__
from flowkit.cli.edge import run_cli
from flowkit.cli.inspect import add_inspect_commands
from flowkit.cli.plugin_group import PluginGroup
from flowkit.cli.verify import verify_cmd
from flowkit.settings import describe_settings, load_settings


@click.group(cls=PluginGroup, help="flowkit: reproducible pipelines from notebook experiments.")
@click.version_option(__version__, prog_name="flowkit")
def cli() -> None:
    """Top-level group."""


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

    sys.argv = [flow_file, "check"]
    runpy.run_path(flow_file, run_name="__main__")


add_inspect_commands(cli)
cli.add_command(verify_cmd)


def main() -> None:
    """Console-script entry point."""
    run_cli(cli, sys.argv[1:], "flowkit", lambda: "--debug" in sys.argv)
