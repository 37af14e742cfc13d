"""``python flow.py spin STEP``: run one step again, fast, against a past task's inputs."""

from __future__ import annotations

import json
import os
import reprlib
from typing import TYPE_CHECKING, Any

import click

from flowkit.errors import RunFailed

if TYPE_CHECKING:
    from flowkit.cli.flow_cli import FlowCLIState
    from flowkit.runtime.spin import SpinResult

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60


def add_spin_command(group: click.Group, state: FlowCLIState) -> None:
    """Register ``spin`` on a flow's command group."""

    @group.command(
        help="Run STEP_NAME once with the current code, against the inputs one of its past "
        "tasks had (the first task of the step in the latest run that reached it, or "
        "--pathspec). Nothing is written to the datastore; --persist keeps the outputs in "
        "./.flowkit_spin for the client (flowkit.inspect_spin)."
    )
    @click.argument("step_name")
    @click.option(
        "--pathspec",
        default=None,
        metavar="FLOW/RUN/STEP/TASK",
        help="The past task whose inputs to use (default: the latest run's first task of the "
        "step).",
    )
    @click.option(
        "--persist",
        is_flag=True,
        help="Keep the outputs in ./.flowkit_spin, readable with flowkit.inspect_spin('.').",
    )
    @click.option(
        "--artifacts-module",
        default=None,
        metavar="PATH",
        help="A .py file defining ARTIFACTS = {...}: input artifacts to override.",
    )
    @click.option(
        "--with",
        "with_specs",
        multiple=True,
        metavar="DECORATOR[:k=v,...]",
        help="Apply a step decorator to the step, as for run (repeatable).",
    )
    @click.option("--result-file", default=None, hidden=True, help="Write the outcome as JSON.")
    def spin(
        step_name: str,
        pathspec: str | None,
        persist: bool,
        artifacts_module: str | None,
        with_specs: tuple[str, ...],
        result_file: str | None,
    ) -> None:
        from flowkit.datastore.spinarea import spin_root
        from flowkit.runtime.entry import run_single_task
        from flowkit.runtime.spin import find_source_task, load_artifacts_module, spin_step
        from flowkit.runtime.task import RunContext

        graph = state.graph()
        settings = state.settings()
        store = state.datastore(settings)
        source = find_source_task(store, graph, step_name, pathspec)
        overrides = load_artifacts_module(artifacts_module) if artifacts_module else None
        ctx = RunContext(
            state.flow_cls,
            graph,
            store,
            source.run_id,
            user=settings.user,
            flow_file=state.flow_file,
            decorators=state.decorators(graph, with_specs),
            with_specs=with_specs,
        )
        result = spin_step(
            ctx,
            source,
            spin_root=spin_root() if persist else None,
            overrides=overrides,
            run_task=run_single_task if persist else None,
        )
        try:
            if result_file:
                _write_result(result_file, result)
            if not result.ok:
                raise RunFailed(
                    f"step {step_name!r} failed when spun with the inputs of {result.source} "
                    "(its traceback is above)",
                    hint=f"fix the step, then spin it again: python "
                    f"{state.flow_file.name} spin {step_name}",
                )
            _summary(result)
        finally:
            if not result.persisted:
                _discard(result)


def _summary(result: SpinResult) -> None:
    manifest = result.manifest
    click.echo(
        f"Spun {manifest.step} with the inputs of {result.source} in {result.seconds:.3f} s"
        f"{'' if result.persisted else ' (nothing was stored)'}."
    )
    for name in result.changed:
        value = result.store.load_artifact(manifest.artifacts[name])
        click.echo(f"  {name} = {_SHORT.repr(value)}")
    if not result.changed:
        click.echo("  (the step set no artifact)")
    if manifest.next_steps:
        click.echo(f"  next: {', '.join(manifest.next_steps)}")
    if result.persisted:
        click.echo(
            f"Kept as {manifest.pathspec} in {result.store.storage.root.removeprefix('file://')}:"
            " read it with "
            f"flowkit.inspect_spin('.') and Flow('{manifest.flow}').latest_run"
            f"['{manifest.step}'].task"
        )


def _write_result(path: str, result: SpinResult) -> None:
    manifest = result.manifest
    data: dict[str, Any] = {
        "flow": manifest.flow,
        "run_id": manifest.run_id if result.persisted else None,
        "step": manifest.step,
        "task_id": manifest.task_id,
        "datastore_root": result.store.storage.root if result.persisted else None,
        "source": result.source,
        "status": manifest.status,
        "changed": result.changed,
        "seconds": result.seconds,
    }
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as out:
        json.dump(data, out)
    os.replace(partial, path)


def _discard(result: SpinResult) -> None:
    storage = result.store.storage
    if storage.fs.exists(storage.root):
        storage.fs.rm(storage.root, recursive=True)
