"""Options flow decorators add to a flow's command line, and the project a run belongs to.

A flow decorator may declare ``cli_options`` (name to :class:`click.Option` settings); they
become options of the flow's command group, given before the command as Metaflow does:
``python flow.py --branch x --production run``. They exist only for flows that use the
decorator, so ``--branch`` on a flow without ``@project`` is an unknown option.
"""

from __future__ import annotations

from typing import Any

import click

from flowkit.decorators.attach import flow_decorators
from flowkit.decorators.project import ProjectDecorator, ProjectInfo
from flowkit.errors import FlowDefinitionError, FlowDefinitionErrors


def decorator_options(flow_cls: type) -> list[click.Option]:
    """The group options of the flow's decorators (each option once)."""
    options: dict[str, click.Option] = {}
    for record in flow_decorators(flow_cls):
        for name, settings in getattr(record, "cli_options", {}).items():
            if name not in options:
                flag = "--" + name.replace("_", "-")
                options[name] = click.Option([flag, name], **settings)
    return list(options.values())


def project_for_run(
    flow_cls: type, flow_name: str, options: dict[str, Any], user: str
) -> ProjectInfo | None:
    """The project and branch of a run about to start, or ``None`` without ``@project``.

    Call it after the flow's decorators were validated (their names are then known good).

    Args:
        flow_cls: The flow class.
        flow_name: Its name.
        options: The group options given (``branch``, ``production``).
        user: Who starts the run (the ``user.<name>`` branch).

    Raises:
        FlowDefinitionErrors: The flow has ``@project`` twice.
        ProjectError: ``--branch`` is invalid or conflicts with the decorator.
    """
    projects = [d for d in flow_decorators(flow_cls) if isinstance(d, ProjectDecorator)]
    if not projects:
        return None
    if len(projects) > 1:
        raise FlowDefinitionErrors(
            [
                FlowDefinitionError(
                    f"@project appears {len(projects)} times on {flow_name}",
                    hint="a flow belongs to one project: keep one @project",
                )
            ]
        )
    return projects[0].project(
        flow_name, user, options.get("branch"), bool(options.get("production"))
    )
