"""``@project``: a project name and a branch that keep one flow's deployments apart.

A flow decorated with ``@project(name="fraud")`` runs on a *branch*:

==============================================  ====================
how the run is started                          branch
==============================================  ====================
``python flow.py run``                          ``user.<username>``
``python flow.py --branch x run``               ``test.x``
``python flow.py --production run``             ``prod``
``python flow.py --branch x --production run``  ``prod.x``
==============================================  ====================

The run records ``project:<name>`` and ``project_branch:<branch>`` as system tags, so the client
can filter on them (``namespace("project_branch:prod")``); the task sees the same facts in
``current.project_name``, ``current.branch_name``, ``current.is_production`` and
``current.project_flow_name``. Deployers name what they deploy with :func:`deployment_name`
(``fraud.prod.TrainFlow``), so production, test and users' deployments of one flow never replace
each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from flowkit.decorators.attach import flow_decorator
from flowkit.decorators.base import DecoratorArgumentError, FlowDecorator
from flowkit.errors import FlowkitError

#: Project and branch names: what every scheduler accepts in a deployment's name.
NAME_PATTERN = re.compile(r"[a-z0-9_]+")
MAX_NAME_LENGTH = 128
PROJECT_TAG = "project:"
BRANCH_TAG = "project_branch:"


class ProjectError(FlowkitError):
    """A project branch cannot be chosen: a bad ``--branch`` or conflicting choices."""

    exit_code = 2
    headline = "bad project branch"


def name_problem(kind: str, value: Any) -> str:
    """Why ``value`` is not a valid project or branch name; ``""`` when it is.

    Args:
        kind: ``"project name"`` or ``"branch name"``, for the message.
        value: The name to check.
    """
    if not isinstance(value, str) or not value:
        return f"the {kind} must be a non-empty string, not {value!r}"
    if len(value) > MAX_NAME_LENGTH:
        return f"the {kind} {value[:20]!r}... is {len(value)} characters long (at most 128)"
    if not NAME_PATTERN.fullmatch(value):
        return f"the {kind} {value!r} may only contain lowercase letters, digits and underscores"
    return ""


def suggest_name(value: str) -> str:
    """``value`` made valid (lowercased, other characters replaced by ``_``), for a hint."""
    return re.sub(r"[^a-z0-9_]", "_", value.lower())[:MAX_NAME_LENGTH] or "my_project"


@dataclass(frozen=True)
class ProjectInfo:
    """The project a run belongs to.

    Attributes:
        name: The project name given to ``@project``.
        branch: The full branch name: ``user.<username>``, ``test.<branch>``, ``prod`` or
            ``prod.<branch>``.
        flow_name: The flow class name.
    """

    name: str
    branch: str
    flow_name: str

    @property
    def is_production(self) -> bool:
        """True on ``prod`` and ``prod.<branch>``."""
        return self.branch == "prod" or self.branch.startswith("prod.")

    @property
    def project_flow_name(self) -> str:
        """``<project>.<branch>.<FlowName>``: the name a deployment of this flow gets."""
        return f"{self.name}.{self.branch}.{self.flow_name}"

    def system_tags(self) -> list[str]:
        """The tags the run carries: ``project:<name>`` and ``project_branch:<branch>``."""
        return [PROJECT_TAG + self.name, BRANCH_TAG + self.branch]

    def current_fields(self) -> dict[str, Any]:
        """What ``current`` shows inside the run's tasks."""
        return {
            "project_name": self.name,
            "branch_name": self.branch,
            "is_production": self.is_production,
            "project_flow_name": self.project_flow_name,
        }

    @classmethod
    def from_tags(cls, tags: Iterable[str], flow_name: str) -> ProjectInfo | None:
        """The project recorded in a run's system tags, or ``None`` for a run without one."""
        name = branch = None
        for tag in tags:
            if tag.startswith(PROJECT_TAG):
                name = tag[len(PROJECT_TAG) :]
            elif tag.startswith(BRANCH_TAG):
                branch = tag[len(BRANCH_TAG) :]
        if name is None or branch is None:
            return None
        return cls(name, branch, flow_name)


def branch_name(branch: str | None, production: bool, user: str) -> str:
    """The full branch name Metaflow's rules give (see the module docstring)."""
    if branch:
        return f"{'prod' if production else 'test'}.{branch}"
    return "prod" if production else f"user.{user}"


def deployment_name(flow_name: str, project: ProjectInfo | None) -> str:
    """The name a deployer gives a flow's deployment.

    Args:
        flow_name: The flow class name.
        project: The run's project (``None`` for a flow without ``@project``).

    Returns:
        ``<project>.<branch>.<FlowName>`` for a project flow, else the flow's name.
    """
    return project.project_flow_name if project is not None else flow_name


class ProjectDecorator(FlowDecorator):
    """Bind a flow to a project, with a branch per user, per test line and for production.

    ``@project(name="fraud")``; ``branch=`` and ``production=`` may be given here or, as in
    Metaflow, with the top-level options ``--branch NAME`` and ``--production`` — not both.
    Names may contain only lowercase letters, digits and underscores (at most 128 characters).
    """

    name = "project"
    defaults: ClassVar[dict[str, Any]] = {"name": None, "branch": None, "production": False}
    #: Options this decorator adds to the flow's command line, before the command.
    cli_options: ClassVar[dict[str, dict[str, Any]]] = {
        "branch": {
            "default": None,
            "metavar": "NAME",
            "help": "Run on the project branch test.NAME (prod.NAME with --production).",
        },
        "production": {
            "is_flag": True,
            "default": False,
            "help": "Run on the project's production branch (prod).",
        },
    }

    def flow_init(self, graph: Any) -> None:
        """Check the project and branch names (before anything runs, with the flow's line)."""
        name, branch = self.attributes["name"], self.attributes["branch"]
        problem = name_problem("project name", name)
        if problem:
            example = suggest_name(name) if isinstance(name, str) else "my_project"
            raise DecoratorArgumentError(
                f"@project: {problem}", hint=f'e.g. @project(name="{example}")'
            )
        if branch is not None and (problem := name_problem("branch name", branch)):
            example = suggest_name(branch) if isinstance(branch, str) else "my_branch"
            raise DecoratorArgumentError(
                f"@project: {problem}", hint=f'e.g. @project(name="{name}", branch="{example}")'
            )
        if not isinstance(self.attributes["production"], bool):
            raise DecoratorArgumentError(
                f"@project: production={self.attributes['production']!r} must be True or False",
                hint=f'e.g. @project(name="{name}", production=True)',
            )

    def project(
        self, flow_name: str, user: str, branch: str | None = None, production: bool = False
    ) -> ProjectInfo:
        """The run's project, given the command line's ``--branch`` and ``--production``.

        Raises:
            ProjectError: ``--branch`` is not a valid name, or a choice was made both here and
                on the command line.
        """
        declared = self.attributes
        if branch is not None and declared["branch"] is not None:
            raise ProjectError(
                f"the branch is given twice: @project(branch={declared['branch']!r}) and "
                f"--branch {branch}",
                hint="drop --branch, or remove branch= from @project",
            )
        if production and declared["production"]:
            raise ProjectError(
                "production is chosen twice: @project(production=True) and --production",
                hint="drop --production, or remove production= from @project",
            )
        if branch is not None and (problem := name_problem("branch name", branch)):
            raise ProjectError(problem, hint=f"e.g. --branch {suggest_name(branch)}")
        chosen = branch if branch is not None else declared["branch"]
        in_production = production or declared["production"]
        return ProjectInfo(declared["name"], branch_name(chosen, in_production, user), flow_name)


project = flow_decorator(ProjectDecorator)
