"""``flowkit registry list|show|register|promote|history|rollback|tag``.

The registry lives in :mod:`flowkit.modelreg`; registering an artifact of a past run goes
through :func:`flowkit.client.models.register_artifact` (which reads the task's lineage).
Every command takes ``--datastore-root`` and ``--json``; errors exit non-zero with a hint.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from flowkit.client import ClientContext
    from flowkit.modelreg import ModelVersion, Registry, RegistryEvent

_F = TypeVar("_F", bound=Callable[..., Any])


def _common(func: _F) -> _F:
    func = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(func)
    return click.option(
        "--datastore-root",
        default=None,
        help="Datastore URL or folder (default: FLOWKIT_DATASTORE_ROOT, else nearest .flowkit/).",
    )(func)


def _context(datastore_root: str | None) -> ClientContext:
    from flowkit.client import ClientContext

    return ClientContext(datastore_root, chosen_by="--datastore-root")


def _registry(datastore_root: str | None) -> Registry:
    from flowkit.client.models import open_registry

    return open_registry(_context(datastore_root))


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint=what)
        out[key] = value
    return out


def _metric(value: str) -> float | int | str:
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            continue
    return value


def _version_arg(text: str) -> int:
    from flowkit.modelreg.records import parse_version

    number = parse_version(text)
    if number is None:
        raise click.BadParameter(f"{text!r} is not a version such as v3")
    return number


def _expect_arg(text: str | None) -> Any:
    from flowkit.modelreg import ANY

    if text is None:
        return ANY
    return None if text.lower() in ("none", "nothing", "unset") else _version_arg(text)


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def _event_line(name: str, event: RegistryEvent) -> str:
    before = f"v{event.previous}" if event.previous is not None else "-"
    after = f"v{event.version}" if event.version is not None else "-"
    note = f"  ({event.note})" if event.note else ""
    return (
        f"#{event.seq:<4} {_when(event.at)}  {name}@{event.alias}: {before} -> {after}  "
        f"{event.reason} by {event.user or '?'}{note}"
    )


def _describe(registry: Registry, version: ModelVersion) -> list[str]:
    aliases = [a for a, n in sorted(registry.aliases(version.name).items()) if n == version.number]
    if registry.latest(version.name).number == version.number:
        aliases.append("latest")
    lines = [
        f"{version.ref}  ({version.kind}, {version.type}, {version.size} bytes)",
        f"  aliases:     {', '.join(aliases) or '-'}",
        f"  content:     sha256 {version.sha}",
        f"  produced by: {version.pathspec}"
        + (f" artifact {version.artifact}" if version.artifact else ""),
        f"  code:        {version.code_sha or '-'}",
        f"  registered:  {_when(version.created_at)} by {version.user or '?'}",
    ]
    for label, values in (
        ("parameters", version.parameters),
        ("metrics", version.metrics),
        ("tags", registry.tags(version)),
    ):
        shown = ", ".join(f"{k}={v}" for k, v in sorted(values.items()))
        lines.append(f"  {label + ':':<12} {shown or '-'}")
    for entry in version.inputs:
        lines.append(f"  input:       {entry['task']} ({len(entry['artifacts'])} artifacts)")
    for dataset in version.datasets:
        lines.append(
            f"  dataset:     {dataset.get('dataset', '?')} {dataset.get('location', '')} "
            f"{dataset.get('content_hash', '')}".rstrip()
        )
    if version.description:
        lines.append(f"  description: {version.description}")
    return lines


@click.group("registry", help="Named, versioned models and datasets, with movable aliases.")
def registry_group() -> None:
    """The ``flowkit registry`` commands."""


@registry_group.command("register", help="Register an artifact of a finished task.")
@click.argument("name")
@click.argument("task", metavar="FLOW/RUN/STEP/TASK")
@click.argument("artifact")
@click.option("--kind", type=click.Choice(["model", "dataset"]), default="model")
@click.option("--metric", "metrics", multiple=True, metavar="KEY=VALUE")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE")
@click.option("--description", default="")
@_common
def register_cmd(
    name: str,
    task: str,
    artifact: str,
    kind: str,
    metrics: tuple[str, ...],
    tags: tuple[str, ...],
    description: str,
    datastore_root: str | None,
    as_json: bool,
) -> None:
    from flowkit.client.models import register_artifact

    version = register_artifact(
        name,
        task,
        artifact,
        kind="dataset" if kind == "dataset" else "model",
        metrics={k: _metric(v) for k, v in _pairs(metrics, "--metric").items()},
        tags=_pairs(tags, "--tag"),
        description=description,
        context=_context(datastore_root),
    )
    if as_json:
        _echo_json(version.to_dict())
    else:
        click.echo(f"registered {version.ref} ({version.sha[:12]}) from {version.pathspec}")


@registry_group.command("list", help="Registered names, their newest version and aliases.")
@click.option("--kind", type=click.Choice(["model", "dataset"]), default=None)
@_common
def list_cmd(kind: str | None, datastore_root: str | None, as_json: bool) -> None:
    registry = _registry(datastore_root)
    rows: list[dict[str, Any]] = []
    for name in registry.names("dataset" if kind == "dataset" else "model" if kind else None):
        latest = registry.latest(name)
        rows.append(
            {
                "name": name,
                "kind": latest.kind,
                "latest": latest.number,
                "aliases": registry.aliases(name),
            }
        )
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        click.echo("nothing is registered yet")
    for row in rows:
        aliases = ", ".join(f"{a}=v{v}" for a, v in sorted(row["aliases"].items()))
        click.echo(f"{row['name']:<24} {row['kind']:<8} latest=v{row['latest']}  {aliases}")


@registry_group.command("show", help="A version (NAME@ALIAS, NAME@vN) or every version of NAME.")
@click.argument("ref", metavar="NAME[@VERSION|@ALIAS]")
@_common
def show_cmd(ref: str, datastore_root: str | None, as_json: bool) -> None:
    registry = _registry(datastore_root)
    versions = [registry.resolve(ref)] if "@" in ref else registry.versions(ref)
    if as_json:
        _echo_json([dict(v.to_dict(), tags=registry.tags(v)) for v in versions])
        return
    for version in versions:
        click.echo("\n".join(_describe(registry, version)))


@registry_group.command(
    "promote", help="Point an alias at a version; with --expect, only if it points there now."
)
@click.argument("name")
@click.argument("version", metavar="VERSION")
@click.option("--alias", required=True, help="The alias to move, e.g. champion.")
@click.option(
    "--expect",
    default=None,
    metavar="VERSION|none",
    help="Compare-and-swap: fail unless the alias points to this version now.",
)
@click.option("--note", default="", help="A sentence kept in the history.")
@_common
def promote_cmd(
    name: str,
    version: str,
    alias: str,
    expect: str | None,
    note: str,
    datastore_root: str | None,
    as_json: bool,
) -> None:
    registry = _registry(datastore_root)
    event = registry.promote(
        name, _version_arg(version), alias, expect=_expect_arg(expect), note=note
    )
    if as_json:
        _echo_json(event.to_dict())
    else:
        click.echo(_event_line(name, event))


@registry_group.command(
    "rollback", help="Move an alias back to its previous version (or --to): a new move."
)
@click.argument("ref", metavar="NAME[@ALIAS]")
@click.option("--alias", default=None, help="The alias (or give NAME@ALIAS).")
@click.option("--to", "to", default=None, metavar="VERSION", help="Go back to this version.")
@click.option("--note", default="", help="A sentence kept in the history.")
@_common
def rollback_cmd(
    ref: str,
    alias: str | None,
    to: str | None,
    note: str,
    datastore_root: str | None,
    as_json: bool,
) -> None:
    name, _, given = ref.partition("@")
    alias = alias or given
    if not alias:
        raise click.UsageError("name the alias: NAME@ALIAS or --alias ALIAS")
    registry = _registry(datastore_root)
    event = registry.rollback(
        name, alias, to=_version_arg(to) if to is not None else None, note=note
    )
    if as_json:
        _echo_json(event.to_dict())
    else:
        click.echo(_event_line(name, event))


@registry_group.command("history", help="Every move of the aliases of NAME (or of NAME@ALIAS).")
@click.argument("ref", metavar="NAME[@ALIAS]")
@_common
def history_cmd(ref: str, datastore_root: str | None, as_json: bool) -> None:
    name, _, alias = ref.partition("@")
    registry = _registry(datastore_root)
    registry.latest(name)  # an unknown name is an error, not an empty history
    moves = registry.history(name, alias or None)
    if as_json:
        _echo_json([m.to_dict() for m in moves])
        return
    if not moves:
        click.echo(f"{ref}: no alias move yet")
    for move in moves:
        click.echo(_event_line(name, move))


@registry_group.command("tag", help="Set (KEY=VALUE) or --remove tags of a version.")
@click.argument("name")
@click.argument("version", metavar="VERSION")
@click.argument("tags", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--remove", multiple=True, metavar="KEY", help="A tag key to remove.")
@_common
def tag_cmd(
    name: str,
    version: str,
    tags: tuple[str, ...],
    remove: tuple[str, ...],
    datastore_root: str | None,
    as_json: bool,
) -> None:
    if not tags and not remove:
        raise click.UsageError("give KEY=VALUE tags to set or --remove KEY")
    registry = _registry(datastore_root)
    number = _version_arg(version)
    registry.tag(name, number, set_tags=_pairs(tags, "TAGS"), unset=remove)
    now = registry.tags(registry.version(name, number))
    if as_json:
        _echo_json(now)
    else:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(now.items())) or "-"
        click.echo(f"{name}@v{number} tags: {shown}")


@registry_group.command(
    "reproduce",
    help="Re-run the run that produced a version (its code snapshot, its parameters) in a fresh "
    "run and say whether the new artifact's hash matches the version's; when it does not, name "
    "the first step whose outputs diverged. Exit code: 0 match, 1 no match, 2 error.",
)
@click.argument("ref", metavar="NAME[@VERSION|@ALIAS]")
@click.option("--show-output", is_flag=True, help="Print the fresh run's output as it runs.")
@_common
def reproduce_cmd(ref: str, show_output: bool, datastore_root: str | None, as_json: bool) -> None:
    import sys

    from flowkit.errors import FlowkitError
    from flowkit.reproduce import reproduce_run

    if show_output and as_json:
        raise click.UsageError("--show-output and --json cannot go together: both use stdout")
    try:
        context = _context(datastore_root)
        version = open_version(context, ref)
        artifact = (version.step, version.task_id, version.artifact) if version.artifact else None
        original = context.run(version.run_pathspec)
        outcome = reproduce_run(original, artifact, version.sha, show_output=show_output)
    except FlowkitError as exc:
        exc.exit_code = 2  # 1 means "does not match"
        raise
    if as_json:
        _echo_json(dict(outcome.to_dict(), version=version.ref))
    else:
        click.echo(f"{version.ref} ({version.sha[:12]}) from {version.pathspec}")
        click.echo(str(outcome))
    # sys.exit, not click's Exit: run_cli (standalone_mode=False) drops an Exit's code
    sys.exit(0 if outcome.matches else 1)


def open_version(context: ClientContext, ref: str) -> ModelVersion:
    """The version ``ref`` names in the registry of ``context``'s datastore."""
    from flowkit.client.models import open_registry

    return open_registry(context).resolve(ref)
