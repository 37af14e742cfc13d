"""``python FLOW.py step-functions ...``: the flow command this plugin adds (``flowcommand``).

Only ``create --only-json`` exists yet: it prints the state machine and calls no AWS API.
"""

from __future__ import annotations

import json
from typing import Any

import click

from flowkit.extend import FlowkitError
from flowkit_sfn.statemachine import SfnOptions, build_state_machine, flow_parameters


class NotDeployable(FlowkitError):
    """What was asked needs a part of the Step Functions deployer not written yet."""

    exit_code = 2
    headline = "step-functions"


def _default_queue() -> str:
    """The Batch plugin's ``batch_queue`` setting, else ``flowkit-default``."""
    from flowkit_batch.settings import SETTINGS

    return SETTINGS.load().queue or SfnOptions.job_queue


def make_command(flow: Any) -> click.Command:
    """The ``step-functions`` group for one flow file (registered as ``flowcommand``)."""

    @click.group(name="step-functions", help="Deploy this flow to AWS Step Functions + Batch.")
    def group() -> None:
        pass

    @group.command(help="Make the flow's state machine (with --only-json: print it, no AWS call).")
    @click.option("--only-json", is_flag=True, help="Print the state machine's JSON and stop.")
    @click.option("--job-queue", default=None, help="Batch queue of steps without @batch(queue=).")
    @click.option("--job-definition", default=SfnOptions.job_definition, show_default=True)
    @click.option(
        "--table",
        default=SfnOptions.table,
        show_default=True,
        help="DynamoDB table of foreach widths and switch choices.",
    )
    @click.option(
        "--inline-limit",
        type=int,
        default=SfnOptions.inline_limit,
        show_default=True,
        help="Widest foreach run as an inline Map (max 1000).",
    )
    def create(
        only_json: bool, job_queue: str | None, job_definition: str, table: str, inline_limit: int
    ) -> None:
        if not only_json:
            raise NotDeployable(
                "creating the state machine on AWS is not implemented yet",
                hint="pass --only-json to print the state machine",
            )
        if not 1 <= inline_limit <= 1000:
            raise click.BadParameter("must be 1..1000", param_hint="--inline-limit")
        graph = flow.graph()
        options = SfnOptions(
            job_queue=job_queue or _default_queue(),
            job_definition=job_definition,
            flow_file=flow.flow_file.name,
            table=table,
            inline_limit=inline_limit,
        )
        parameters = flow_parameters(flow.flow_cls)
        machine = build_state_machine(graph, flow.decorators(graph), options, parameters)
        click.echo(json.dumps(machine, indent=2))

    return group
