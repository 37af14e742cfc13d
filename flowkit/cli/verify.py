"""``flowkit verify [FLOW[/RUN]]``: find damaged objects in the datastore, and set them aside.

The checks themselves live in :mod:`flowkit.datastore.verify`; this module chooses what to
check and prints the report.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from flowkit.errors import PathspecError, VerifyFailed

if TYPE_CHECKING:
    from flowkit.datastore.verify import VerifyReport


@click.command(
    "verify",
    help="Read every object of a run (or of every run of a flow, or of the whole datastore) and "
    "check it: records, manifests, artifact blobs (hashed), logs and code snapshots. Exits "
    "non-zero when something is damaged. With --repair, damaged objects that can be recomputed "
    "are moved under the flow's quarantine/ folder; resume the runs to recompute them.",
)
@click.argument("pathspec", metavar="[FLOW[/RUN]]", required=False)
@click.option("--repair", is_flag=True, help="Move damaged objects to the flow's quarantine/.")
@click.option(
    "--datastore-root",
    default=None,
    help="Datastore URL or folder (default: FLOWKIT_DATASTORE_ROOT, else nearest .flowkit/).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def verify_cmd(
    pathspec: str | None, repair: bool, datastore_root: str | None, as_json: bool
) -> None:
    from flowkit.client import ClientContext
    from flowkit.datastore.flowstore import flow_names
    from flowkit.datastore.verify import verify_flow

    context = ClientContext(datastore_root, chosen_by="--datastore-root")
    storage = context.storage()
    run_id: str | None = None
    if pathspec is None:
        context.check_root(storage)
        flows = flow_names(storage)
    else:
        parts = pathspec.split("/")
        if len(parts) > 2 or not all(parts):
            raise PathspecError(
                f"{pathspec!r} is not a flow or a run",
                hint="name a flow (LinearFlow) or a run (LinearFlow/3), or nothing to check "
                "every flow",
            )
        flows = [parts[0]]
        run_id = parts[1] if len(parts) == 2 else None
        if not context.flow_store(parts[0]).has_runs():
            raise context.flow_not_found(storage, parts[0])
    reports = [verify_flow(context.flow_store(flow), run_id, repair=repair) for flow in flows]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        for report in reports:
            _echo_report(report)
    _fail_if_damaged(reports, pathspec, repair)


def _echo_report(report: VerifyReport) -> None:
    from flowkit.datastore.verify import describe_referrers

    runs = f"{len(report.runs)} run{'s' if len(report.runs) != 1 else ''}"
    bad = len(report.problems)
    click.echo(
        f"{report.flow}: {report.checked} objects of {runs} checked, "
        + (f"{bad} damaged" if bad else "all good")
    )
    for problem in report.problems:
        click.echo(f"  {problem.kind}: {problem.url}")
        if problem.referrers:
            click.echo(f"    used by: {describe_referrers(problem)}")
        click.echo(f"    problem: {problem.reason}")
        if problem.moved_to:
            click.echo(f"    moved to: {problem.moved_to}")
        elif problem.repaired:
            click.echo("    repaired: nothing to move; a resume recomputes it")


def _fail_if_damaged(reports: list[VerifyReport], pathspec: str | None, repair: bool) -> None:
    """Say what to do next; raise (non-zero exit) while damaged objects remain."""
    remaining = [p for r in reports for p in r.remaining]
    resumes = [r.resume_command() for r in reports if r.resume_command()]
    then = f"; then recompute what was lost with: {' and '.join(resumes)}" if resumes else ""
    if not remaining:
        if repair and any(r.problems for r in reports):
            click.echo(
                "Damaged objects were set aside (a resume does not clone tasks whose artifacts "
                f"are missing){then}"
            )
        return
    command = f"flowkit verify {pathspec} --repair" if pathspec else "flowkit verify --repair"
    if any(p.repairable for p in remaining):
        hint = f"set the damaged objects aside with: {command}{then}"
    else:
        hint = (
            "what is left cannot be recomputed: restore those files from a backup, or re-run "
            "the steps concerned in a new run"
        )
    target = pathspec or "the datastore"
    raise VerifyFailed(f"{len(remaining)} damaged object(s) in {target}", hint=hint)
