"""How the inspection commands print runs, steps, tasks and artifacts: aligned text, or the
plain data their ``--json`` output is made of."""

from __future__ import annotations

import json
import pprint
import warnings
from dataclasses import asdict
from typing import Any

import click

from flowkit.client import Run, Step, Task, UnreadableRun
from flowkit.client.render import (
    fmt_duration,
    fmt_size,
    fmt_time,
    short_type,
    shorten,
    text_table,
    when,
)
from flowkit.client.run import describe_produced
from flowkit.client.summary import StepSummary, task_row
from flowkit.datastore.environment import RunEnvironment
from flowkit.datastore.manifest import TaskManifest
from flowkit.errors import UnreadableRecordWarning

_PREVIEW = 80
_TASK_HEADERS = (
    "task",
    "index",
    "status",
    "attempt",
    "started",
    "duration",
    "artifacts",
    "cloned from",
)


def echo_runs(runs: list[Run | UnreadableRun], more: bool) -> None:
    """A table of runs, with a note when older ones were left out and one per unreadable run."""
    if not runs:
        click.echo("No runs match.")
        return
    rows = [
        (run.id, run.status, "", "", "", "", "")
        if isinstance(run, UnreadableRun)
        else (
            run.id,
            run.status,
            fmt_time(run.created_at),
            fmt_duration(run.duration),
            run.user,
            ", ".join(sorted(run.user_tags)),
            " ".join(f"{k}={v}" for k, v in run.to_dict()["parameters"].items()),
        )
        for run in runs
    ]
    headers = ("run", "status", "started", "duration", "user", "tags", "parameters")
    click.echo(text_table(headers, rows))
    if more:
        click.echo(f"(the latest {len(runs)} runs; --limit 0 shows all)")
    for run in runs:
        if isinstance(run, UnreadableRun):
            click.echo(f"note: {run.reason}")


def echo_run(run: Run) -> None:
    """A run's record, then one line per step in execution order, then its failures."""
    record = run.to_dict()
    click.echo(f"Run {run.pathspec}: {run.status}")
    fields = [
        ("started", fmt_time(run.created_at)),
        ("finished", _finished(run)),
        ("user", run.user),
        ("tags", ", ".join(record["tags"])),
        ("parameters", " ".join(f"{k}={v}" for k, v in record["parameters"].items())),
        ("resumed from", run.origin_pathspec),
        ("profile", _profile(run)),
        ("code", _code(run)),
    ]
    _echo_fields(fields)
    summaries, unreadable = step_summaries(run)
    rows = [
        (
            s.step,
            len(s.tasks)
            if not s.failed
            else f"{len(s.tasks)} ({s.failed} {'stopped' if s.status == 'killed' else 'failed'})",
            s.status,
            fmt_time(when(s.started_at)),
            fmt_duration(s.duration),
            describe_produced(s),
        )
        for s in summaries
    ]
    click.echo("")
    headers = ("step", "tasks", "status", "started", "duration", "artifacts")
    click.echo(text_table(headers, rows, indent="  "))
    failed = [m for s in summaries for m in s.tasks if m.status != "succeeded"]
    for manifest in failed:
        exc = manifest.failure
        click.echo(
            f"\nFailed: {manifest.pathspec}: {exc.type if exc else 'error'}: "
            f"{shorten(exc.message if exc else '', 200)}\n"
            f"  see: flowkit logs {manifest.pathspec}"
        )
    for reason in unreadable:
        click.echo(f"\nUnreadable: {reason}")
    # from the manifests already read for the table, not run.lineage (a second pass)
    lineage = [
        {"task": m.pathspec, **asdict(r)} for s in summaries for m in s.tasks for r in m.lineage
    ]
    echo_lineage(lineage, with_task=True)


def step_summaries(run: Run) -> tuple[list[StepSummary], list[str]]:
    """The run's step summaries, and what is wrong with each task manifest left out of them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnreadableRecordWarning)
        summaries = run.step_summaries()
    unreadable = []
    for warning in caught:
        if issubclass(warning.category, UnreadableRecordWarning):
            unreadable.append(str(warning.message))
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return summaries, unreadable


def echo_step(step: Step, tasks: list[Task]) -> None:
    """One line per task of a step."""
    click.echo(f"Step {step.pathspec}: {len(tasks)} finished task(s)")
    rows: list[tuple[Any, ...]] = [
        (
            t.id,
            "" if t.index is None else t.index,
            t.status,
            t.current_attempt,
            fmt_time(t.created_at),
            fmt_duration(t.duration),
            len(t.artifacts),
            t.origin_pathspec or "",
        )
        for t in tasks
    ]
    # The last column, "cloned from", only means something for a resumed run.
    width = len(_TASK_HEADERS) - (0 if any(t.origin_pathspec for t in tasks) else 1)
    headers: tuple[str, ...] = _TASK_HEADERS[:width]
    rows = [row[:width] for row in rows]
    if any(t.iteration for t in tasks):  # a step inside a loop: which pass each task is
        headers = (*headers[:2], "iteration", *headers[2:])
        rows = [(*row[:2], t.iteration, *row[2:]) for row, t in zip(rows, tasks, strict=True)]
    click.echo(text_table(headers, rows, indent="  "))


def echo_task(task: Task) -> None:
    """A task's facts, its artifacts (type and size, nothing loaded), its failure and logs."""
    click.echo(f"Task {task.pathspec}: {task.status}")
    exception = task.exception
    log_sizes = task.to_dict()["logs"]
    fields = [
        ("attempt", str(task.current_attempt)),
        ("started", fmt_time(task.created_at)),
        ("duration", fmt_duration(task.duration)),
        ("foreach index", None if task.index is None else str(task.index)),
        ("iteration", str(task.iteration) if task.iteration else None),
        ("cloned from", task.origin_pathspec),
        ("exception", f"{exception.type}: {exception.message}" if exception else None),
        ("logs", ", ".join(f"{k} {fmt_size(v)}" for k, v in sorted(log_sizes.items()))),
    ]
    _echo_fields(fields)
    rows = [(a.id, short_type(a.type), fmt_size(a.size)) for a in task.artifacts]
    if rows:
        click.echo("")
        click.echo(text_table(("artifact", "type", "size"), rows, indent="  "))
    echo_lineage(task.lineage)


def echo_lineage(lineage: list[dict[str, Any]], with_task: bool = False) -> None:
    """The datasets loaded and saved through the data catalog (nothing when there are none)."""
    if not lineage:
        return
    headers: tuple[str, ...] = ("task",) if with_task else ()
    headers += ("dataset", "mode", "profile", "type", "location", "rows", "content", "snapshot")
    rows = [
        ((r["task"],) if with_task else ())
        + (
            r["dataset"],
            r["mode"],
            r["profile"],
            r["type"],
            r["location"],
            "" if r["rows"] is None else str(r["rows"]),
            r["content_hash"][:12],
            (r["snapshot"] or "")[:12],
        )
        for r in lineage
    ]
    click.echo("\nData lineage:")
    click.echo(text_table(headers, rows, indent="  "))


def dump_payload(task: Task, names: tuple[str, ...], max_size: int) -> dict[str, Any]:
    """A task's artifacts with their values: the ``names`` given, else all of them up to
    ``max_size`` bytes each; larger ones are listed with ``"loaded": False``."""
    chosen = [task.artifacts[n] for n in names] if names else list(task.artifacts)
    artifacts = {}
    for artifact in chosen:
        entry: dict[str, Any] = artifact.to_dict()
        if names or artifact.size <= max_size:
            entry.update(loaded=True, value=artifact.data)
        else:
            entry.update(loaded=False, value=None)
        artifacts[artifact.id] = entry
    return {"pathspec": task.pathspec, "status": task.status, "artifacts": artifacts}


def echo_dump(tasks: list[Task], payloads: list[dict[str, Any]], chosen: bool) -> None:
    """Artifacts as a table of previews, or (when named) their whole values."""
    for task, payload in zip(tasks, payloads, strict=True):
        if len(tasks) > 1:
            click.echo(f"==> {task.pathspec} ({task.status}) <==")
        if chosen:
            for name in payload["artifacts"]:
                value = payload["artifacts"][name]["value"]
                prefix = f"{name} = " if len(payload["artifacts"]) > 1 else ""
                click.echo(prefix + pprint.pformat(value, width=100, sort_dicts=False))
            continue
        rows = []
        for name, entry in payload["artifacts"].items():
            if entry["loaded"]:
                preview = shorten(repr(entry["value"]), _PREVIEW)
            else:
                preview = f"(not loaded: {fmt_size(entry['size'])}; use --artifact {name})"
            rows.append((name, short_type(entry["type"]), fmt_size(entry["size"]), preview))
        if rows:
            click.echo(text_table(("artifact", "type", "size", "value"), rows))
        else:
            click.echo("(no artifacts)")


def step_payload(summary: StepSummary) -> dict[str, Any]:
    """One step of ``show RUN --json``."""
    return {
        "step": summary.step,
        "status": summary.status,
        "started_at": _iso(summary.started_at),
        "finished_at": _iso(summary.finished_at),
        "duration": round(summary.duration, 6),
        "produced": {n: {"type": t, "size": size} for n, (t, size) in summary.produced.items()},
        "tasks": [_task_payload(m) for m in summary.tasks],
    }


def _task_payload(manifest: TaskManifest) -> dict[str, Any]:
    row = task_row(manifest)
    row["started_at"] = _iso(row["started_at"])
    row["finished_at"] = _iso(row["finished_at"])
    return row


def _iso(timestamp: float) -> str | None:
    moment = when(timestamp)
    return moment.isoformat() if moment else None


def jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` (from :func:`dump_payload`) with every value JSON can't hold as its repr."""
    artifacts = {}
    for name, entry in payload["artifacts"].items():
        try:
            json.dumps(entry["value"])
        except (TypeError, ValueError, RecursionError):
            entry = entry | {"value": repr(entry["value"])}
        artifacts[name] = entry
    return payload | {"artifacts": artifacts}


def _finished(run: Run) -> str:
    if run.finished_at is None:
        return "(running)"
    return f"{fmt_time(run.finished_at)} ({fmt_duration(run.duration)})"


def _code(run: Run) -> str | None:
    code = run.code
    return f"{code.script_name} (snapshot {code.sha[:12]})" if code else None


def _profile(run: Run) -> str | None:
    """``prod (catalog /p/catalog.toml, kept from the resumed run)``; ``None``: no catalog."""
    catalog = run.catalog
    if catalog is None:
        return None
    kept = [
        name
        for name, where in (("profile", catalog.profile_from), ("catalog", catalog.catalog_from))
        if where == "origin"
    ]
    note = f", {' and '.join(kept)} kept from the resumed run" if kept else ""
    return f"{catalog.profile} (catalog {catalog.path}{note})"


def _echo_fields(fields: list[tuple[str, str | None]]) -> None:
    shown = [(k, v) for k, v in fields if v]
    width = max((len(k) for k, _ in shown), default=0)
    for key, value in shown:
        click.echo(f"  {key.ljust(width)}  {value}")


def echo_environment(pathspec: str, environment: RunEnvironment | None) -> None:
    """Print a run's environment: interpreter, platform, then one package per line."""
    if environment is None:
        click.echo(
            f"The environment of {pathspec} was not recorded: the run was started by a flowkit "
            "that did not record environments (before storage format 1)."
        )
        return
    env = environment
    click.echo(f"Environment of {pathspec}")
    click.echo(f"  python    {env.python} ({env.implementation})")
    click.echo(f"  platform  {env.platform} ({env.system}, {env.machine})")
    click.echo(f"  packages  {len(env.packages)}")
    width = max((len(name) for name in env.packages), default=0)
    for name in sorted(env.packages, key=str.lower):
        click.echo(f"    {name.ljust(width)}  {env.packages[name]}")
