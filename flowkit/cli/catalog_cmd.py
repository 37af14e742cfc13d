"""``flowkit catalog list|describe``: what the data catalog's names resolve to in a profile.

Nothing here resolves a credential: a dataset shows the *name* of its credential and where that
credential comes from, never a value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from flowkit.client.render import text_table


def _catalog_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--catalog",
        "catalog_path",
        default=None,
        metavar="PATH",
        help="Catalog file (default: $FLOWKIT_CATALOG, else ./catalog.toml).",
    )(func)
    func = click.option(
        "--profile", default=None, help="Profile (default: $FLOWKIT_PROFILE, else the defaults)."
    )(func)
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(func)


@click.group("catalog", help="Show the datasets of a data catalog (catalog.toml).")
def catalog_cmd() -> None:
    """The ``catalog`` command group."""


@catalog_cmd.command("list", help="List the datasets and dataset factories in a profile.")
@_catalog_options
def list_cmd(catalog_path: str | None, profile: str | None, as_json: bool) -> None:
    from flowkit.catalog.session import open_catalog

    config = open_catalog(catalog_path, profile)
    entries = [_shown(config.resolve(name).describe()) for name in config.names()]
    if as_json:
        click.echo(json.dumps({"profile": config.profile, "datasets": entries}, indent=2))
        return
    click.echo(f"Catalog {config.path} (profile {config.profile})")
    rows = [
        (e["name"], e["type"], e["location"] + (f"#{e['table']}" if "table" in e else ""))
        for e in entries
    ]
    click.echo(text_table(("dataset", "type", "location"), rows, indent="  "))


@catalog_cmd.command("describe", help="Show what NAME resolves to in a profile.")
@click.argument("name")
@_catalog_options
def describe_cmd(name: str, catalog_path: str | None, profile: str | None, as_json: bool) -> None:
    from flowkit.catalog.session import open_catalog

    config = open_catalog(catalog_path, profile)
    shown = _shown(config.resolve(name).describe())
    credential = shown.get("credential")
    if credential:
        declared = config.credential_declaration(credential)
        source = declared.get("source", "file")
        shown["credential"] = f"{credential} (from {source}; values ***)"
    if as_json:
        click.echo(json.dumps(shown, indent=2, default=str))
        return
    for key, value in shown.items():
        text = json.dumps(value) if isinstance(value, dict) else str(value)
        click.echo(f"{key + ':':<16}{text}")


def _shown(described: dict[str, Any]) -> dict[str, Any]:
    """A dataset's description with any password-bearing URL masked, options included."""
    from flowkit.settings import redact_url

    def mask(value: Any) -> Any:
        if isinstance(value, str):
            return redact_url(value)
        if isinstance(value, dict):
            return {k: mask(v) for k, v in value.items()}
        return value

    return {k: mask(v) for k, v in described.items()}
