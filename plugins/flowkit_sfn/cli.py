"""``python FLOW.py step-functions ...``: the flow command this plugin adds (``flowcommand``).

``create`` deploys (see :mod:`flowkit_sfn.deploy`; ``--only-json`` prints the state machine and
calls no AWS API), ``trigger`` starts an execution (``StartExecution``) and prints its run id,
``list-runs`` / ``status`` read the executions, ``delete`` removes the state machine and its
schedules and rules. Errors are :class:`FlowkitError` subclasses, shown by flowkit's CLI edge.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import click

from flowkit.extend import (
    FlowkitError,
    build_snapshot,
    catalog_for_run,
    flow_decorators,
    open_flow_datastore,
    store_deployed_catalog,
)
from flowkit_sfn.statemachine import SfnOptions, build_state_machine, flow_parameters

#: The run id of an execution: this prefix and the execution's name.
RUN_PREFIX = "sfn-"


class NotDeployed(FlowkitError):
    """The flow has no state machine yet (or the run named is not one of its executions)."""

    exit_code = 2
    headline = "step-functions"


def _default_queue() -> str:
    """The Batch plugin's ``batch_queue`` setting, else ``flowkit-default``."""
    from flowkit_batch.settings import SETTINGS

    return SETTINGS.load().queue or SfnOptions.job_queue


def _deployed_name(flow: Any) -> tuple[str, list[str]]:
    """The state machine's name (``<project>.<branch>.<Flow>`` under ``@project``) and the
    system tags the runs get."""
    from flowkit_sfn.naming import state_machine_name

    name = flow.graph().name
    projects = [d for d in flow_decorators(flow.flow_cls) if d.name == "project"]
    if not projects:
        return state_machine_name(name), []
    options = getattr(flow, "flow_options", {}) or {}
    info = projects[0].project(
        name, flow.settings().user, options.get("branch"), bool(options.get("production"))
    )
    return state_machine_name(name, (info.name, info.branch)), list(info.system_tags())


def _datastore_root(flow: Any) -> str:
    from flowkit_batch.jobs import require_s3

    root = flow.settings().datastore_root or ""
    require_s3(root, ["every step (the flow is deployed to AWS Batch)"])
    return str(root)


def _find_arn(name: str, client: Any) -> str:
    from flowkit_sfn.deploy import AwsResources

    arn = AwsResources(client, []).find_state_machine(name)
    if arn is None:
        raise NotDeployed(
            f"there is no state machine {name}",
            hint="deploy the flow first: python FLOW.py step-functions create",
        )
    return arn


def _execution_arn(machine_arn: str, run_id: str) -> str:
    if not run_id.startswith(RUN_PREFIX):
        raise NotDeployed(
            f"{run_id} is not a run made by Step Functions",
            hint=f"give a run id starting with {RUN_PREFIX} (see list-runs)",
        )
    return machine_arn.replace(":stateMachine:", ":execution:") + ":" + run_id[len(RUN_PREFIX) :]


def _run_view(execution: dict[str, Any]) -> dict[str, Any]:
    stopped = execution.get("stopDate")
    return {
        "run_id": RUN_PREFIX + execution["name"],
        "status": execution["status"],
        "started_at": execution["startDate"].isoformat(),
        "stopped_at": stopped.isoformat() if stopped else None,
    }


def _parameter_values(flow: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """The execution input's ``parameters``: given values converted (and so checked) with the
    flow's Parameter types; omitted ones are left to the job, which applies their defaults."""
    values: dict[str, Any] = {}
    for param in flow_parameters(flow.flow_cls):
        given = raw.get(param.name.replace("-", "_"))
        if given is None:
            if param.required and param.default is None:
                raise click.UsageError(f"parameter --{param.name} is required")
            continue
        value = param.convert(given)
        try:
            json.dumps(value)
        except TypeError:
            value = given
        values[param.name] = value
    return values


def make_command(flow: Any) -> click.Command:
    """The ``step-functions`` group for one flow file (registered as ``flowcommand``)."""

    @click.group(name="step-functions", help="Deploy this flow to AWS Step Functions + Batch.")
    def group() -> None:
        pass

    @group.command(help="Deploy the flow (with --only-json: print the state machine, no AWS call).")
    @click.option("--only-json", is_flag=True, help="Print the state machine's JSON and stop.")
    @click.option("--job-queue", default=None, help="Batch queue of steps without @batch(queue=).")
    @click.option(
        "--table", default=None, help="DynamoDB table of foreach widths and switch choices."
    )
    @click.option(
        "--inline-limit", type=int, default=None, help="Widest foreach run as an inline Map."
    )
    @click.option(
        "--deployer-attribute-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Write what was deployed (JSON) to this file (for the Deployer API).",
    )
    @click.option(
        "--profile",
        default=None,
        help="Data catalog profile of the deployed runs (default: $FLOWKIT_PROFILE, else the "
        "catalog's defaults).",
    )
    @click.option(
        "--catalog",
        default=None,
        metavar="PATH",
        help="Data catalog file deployed with the flow (default: catalog.toml next to it).",
    )
    def create(
        only_json: bool,
        job_queue: str | None,
        table: str | None,
        inline_limit: int | None,
        deployer_attribute_file: Path | None,
        profile: str | None,
        catalog: str | None,
    ) -> None:
        from flowkit_sfn.settings import SETTINGS

        sfn = SETTINGS.load()
        inline = sfn.inline_limit if inline_limit is None else inline_limit
        if not 1 <= inline <= 1000:
            raise click.BadParameter("must be 1..1000", param_hint="--inline-limit")
        graph = flow.graph()
        name, tags = _deployed_name(flow)
        # checked (profile, no password in it) before anything is deployed
        run_catalog = catalog_for_run(
            flow.flow_file.parent,
            flow.settings(profile=profile, catalog=os.path.abspath(catalog) if catalog else None),
        )
        options = SfnOptions(
            job_queue=job_queue or _default_queue(),
            flow_file=flow.flow_file.name,
            table=table or sfn.table,
            inline_limit=inline,
            system_tags=tuple(tags),
            user=flow.settings().user or "",
        )
        parameters = flow_parameters(flow.flow_cls)
        if only_json:
            machine = build_state_machine(graph, flow.decorators(graph), options, parameters)
            click.echo(json.dumps(machine, indent=2))
            return
        deployment = _deploy(flow, name, options, run_catalog)
        for call in deployment.calls:
            click.echo(f"  {call}")
        if not deployment.calls:
            click.echo("  nothing changed")
        click.echo(f"State machine {deployment.name}: {deployment.arn}")
        if deployer_attribute_file is not None:
            deployer_attribute_file.write_text(
                json.dumps(
                    {
                        "name": deployment.name,
                        "flow_name": graph.name,
                        "metadata": {
                            "state_machine_arn": deployment.arn,
                            "code": deployment.code,
                        },
                    }
                ),
                "utf-8",
            )

    @group.command(help="Start an execution now; prints the run id (sfn-<execution name>).")
    @click.option("--run-id-file", type=click.Path(dir_okay=False, path_type=Path), default=None)
    def trigger(run_id_file: Path | None, **raw: Any) -> None:
        from flowkit_sfn.aws import client_factory

        client = client_factory(flow.settings())
        name, _ = _deployed_name(flow)
        arn = _find_arn(name, client)
        values = _parameter_values(flow, raw)
        execution = uuid.uuid4().hex
        client("stepfunctions").start_execution(
            stateMachineArn=arn, name=execution, input=json.dumps({"parameters": values})
        )
        run_id = RUN_PREFIX + execution
        click.echo(run_id)
        if run_id_file is not None:
            run_id_file.write_text(
                json.dumps(
                    {
                        "flow": flow.graph().name,
                        "run_id": run_id,
                        "datastore_root": flow.settings().datastore_root,
                    }
                ),
                "utf-8",
            )

    for param in flow_parameters(flow.flow_cls):
        trigger.params.append(
            click.Option(
                [f"--{param.name}", param.name.replace("-", "_")],
                default=None,
                help=param.help or None,
            )
        )

    @group.command(name="list-runs", help="The executions of the deployed flow, newest first.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def list_runs(as_json: bool) -> None:
        from flowkit_sfn.aws import client_factory

        client = client_factory(flow.settings())
        arn = _find_arn(_deployed_name(flow)[0], client)
        pages = (
            client("stepfunctions").get_paginator("list_executions").paginate(stateMachineArn=arn)
        )
        runs = [_run_view(e) for page in pages for e in page.get("executions", [])]
        runs.sort(key=lambda run: run["started_at"], reverse=True)
        if as_json:
            click.echo(json.dumps(runs))
            return
        for run in runs:
            click.echo(f"{run['run_id']}  {run['status']:<10}  {run['started_at']}")

    @group.command(help="The state of one execution (by run id).")
    @click.argument("run_id")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def status(run_id: str, as_json: bool) -> None:
        from flowkit_sfn.aws import client_factory

        client = client_factory(flow.settings())
        arn = _find_arn(_deployed_name(flow)[0], client)
        found = client("stepfunctions").describe_execution(executionArn=_execution_arn(arn, run_id))
        view = _run_view(found)
        if found.get("error"):
            view["error"] = found["error"]
        if as_json:
            click.echo(json.dumps(view))
        else:
            click.echo(f"{view['run_id']}  {view['status']}")

    @group.command(help="Remove the state machine and the flow's schedules and rules.")
    def delete() -> None:
        from flowkit_sfn.aws import client_factory
        from flowkit_sfn.events import remove_events

        client = client_factory(flow.settings())
        name = _deployed_name(flow)[0]
        arn = _find_arn(name, client)
        removed = remove_events(state_machine_name=name, client=client)
        client("stepfunctions").delete_state_machine(stateMachineArn=arn)
        for item in removed:
            click.echo(f"  removed {item}")
        click.echo(f"Deleted the state machine {name}")

    return group


def _deploy(flow: Any, name: str, options: SfnOptions, run_catalog: Any = None) -> Any:
    """Make or update every resource (see :mod:`flowkit_sfn.deploy`); ``run_catalog`` is the
    data catalog the runs use (stored in the datastore, its record given to the start task)."""
    from dataclasses import replace

    from flowkit_batch.settings import SETTINGS as BATCH
    from flowkit_sfn.aws import client_factory
    from flowkit_sfn.deploy import (
        AwsResources,
        DeployConfigError,
        Deployment,
        job_definition_body,
        store_code,
    )
    from flowkit_sfn.events import deploy_events, refuse_local_triggers
    from flowkit_sfn.settings import SETTINGS

    refuse_local_triggers(flow.flow_cls)
    settings = flow.settings()
    sfn, batch = SETTINGS.load(), BATCH.load()
    if not sfn.role_arn:
        raise DeployConfigError(
            "no IAM role is set for the state machine",
            hint="set FLOWKIT_SFN_ROLE_ARN to a role Step Functions may assume (it submits "
            "Batch jobs and reads the DynamoDB table)",
        )
    if not batch.image:
        raise DeployConfigError(
            "no container image is set for the flow's Batch jobs",
            hint="set FLOWKIT_BATCH_IMAGE to an image with flowkit and its [aws] extra",
        )
    root = _datastore_root(flow)
    graph = flow.graph()
    decorators = flow.decorators(graph)
    store = open_flow_datastore(root, graph.name, settings)
    code, _ = store_code(store, build_snapshot(flow.flow_file).data)
    client = client_factory(settings)
    deployment = Deployment(name=name, code=code)
    aws = AwsResources(client, deployment.calls)
    environment = {
        "FLOWKIT_DATASTORE_ROOT": root,
        "FLOWKIT_SFN_TABLE": options.table,
        "PYTHONUNBUFFERED": "1",
    }
    if settings.aws_region:
        environment["FLOWKIT_AWS_REGION"] = settings.aws_region
    body = job_definition_body(batch.image, batch.job_role, environment)
    deployment.job_definition = aws.job_definition(body)
    aws.table(options.table)
    options = replace(options, code=code, job_definition=deployment.job_definition)
    if run_catalog is not None:
        options = replace(options, catalog=store_deployed_catalog(store, run_catalog))
    machine = build_state_machine(graph, decorators, options, flow_parameters(flow.flow_cls))
    deployment.arn = aws.state_machine(name, machine, sfn.role_arn)
    deployment.events = deploy_events(
        flow.flow_cls,
        state_machine_name=name,
        state_machine_arn=deployment.arn,
        role_arn=sfn.role_arn,
        client=client,
    )
    return deployment
