"""A flow's ``@schedule`` / ``@trigger_on_finish`` / ``@trigger`` as an Airflow DAG's schedule.

* ``@schedule`` becomes a ``CronTriggerTimetable`` (Unix cron, in the decorator's time zone):
  runs start at the cron times, with no data interval to wait for, like a cron job;
* ``@trigger_on_finish(flow="Up")`` schedules the DAG on the Asset ``flowkit.Up`` (inside a
  ``@project``: ``flowkit.<project>.<branch>.Up``), which the ``flowkit-finish`` task of every
  deployed DAG emits when its run succeeds (its ``outlets``);
* both together: ``AssetOrTimeSchedule`` (either starts a run);
* ``@trigger(s3=...)`` / ``@trigger(path=...)``: an object landing emits no Airflow asset event
  by itself (that takes a provider's message-queue watcher), so the DAG runs every
  ``airflow_poll_seconds`` and its first task polls the location
  (:mod:`flowkit_airflow.arrivals`); it cannot be combined with the other two.

Pure: returns Python source for the DAG file; nothing here imports Airflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flowkit.extend import (
    FlowDefinitionError,
    ScheduleDecorator,
    TriggerDecorator,
    TriggerOnFinishDecorator,
)

_TIMETABLE = "from airflow.timetables.trigger import CronTriggerTimetable"
_ASSETS = "from airflow.sdk import Asset"
_BOTH = "from airflow.timetables.assets import AssetOrTimeSchedule"


def asset_name(flow_name: str, project: Any = None) -> str:
    """The Asset a successful run of ``flow_name`` emits (per project branch under @project)."""
    if project is not None:
        return f"flowkit.{project.name}.{project.branch}.{flow_name}"
    return f"flowkit.{flow_name}"


def asset_source(name: str) -> str:
    """``Asset(...)`` source for the asset ``name``."""
    return f"Asset(name={name!r}, uri={'flowkit://flows/' + name!r})"


def unix_cron(deco: ScheduleDecorator) -> str:
    """The schedule as 5-field Unix cron, which Airflow reads.

    Raises:
        FlowDefinitionError: An AWS-only expression (a year, ``L``/``W``/``#``).
    """
    schedule = deco.cron_schedule()
    minute, hour, dom, month, dow, year = schedule.fields
    source = schedule.source.strip()
    if len(source.split()) == 5 and not source.startswith("cron("):
        return source  # written in Unix cron: Airflow reads it as it is
    special = any(ch in f"{dom} {dow}" for ch in "LW#")
    if year != "*" or special or any(c.isdigit() for c in dow):
        raise FlowDefinitionError(
            f"@schedule cron {source!r} uses AWS-only syntax that Airflow's cron cannot express",
            hint="write it as 5-field Unix cron, e.g. cron='0 6 * * 1-5'",
        )
    return " ".join(f.replace("?", "*") for f in (minute, hour, dom, month, dow))


def watched_location(flow_decorators: Sequence[Any]) -> dict[str, Any] | None:
    """What the DAG's ``flowkit-trigger`` task polls: ``{"kind", "url", "suffix",
    "parameters"}`` of the flow's ``@trigger``, or ``None`` without one.

    Raises:
        FlowDefinitionError: More than one ``@trigger``.
    """
    triggers = [d for d in flow_decorators if isinstance(d, TriggerDecorator)]
    if len(triggers) > 1:
        raise FlowDefinitionError(
            "the Airflow deployer polls one @trigger location per flow",
            hint="keep one @trigger, e.g. on a common prefix with suffix=",
        )
    if not triggers:
        return None
    found = triggers[0].watched()
    return {
        "kind": found.kind,
        "url": found.url,
        "suffix": found.suffix,
        "parameters": triggers[0].parameter_fields(),
    }


def dag_schedule(
    flow_decorators: Sequence[Any], project: Any = None, poll_seconds: int = 60
) -> tuple[str, tuple[str, ...]]:
    """The DAG's ``schedule=`` source and the imports it needs.

    Args:
        flow_decorators: The flow's validated decorators.
        project: The deployment's ``@project`` (``ProjectInfo``), or ``None``.
        poll_seconds: How often a DAG with ``@trigger`` looks for new objects.

    Returns:
        ``(schedule, imports)``, Python source.

    Raises:
        FlowDefinitionError: ``@trigger`` with another schedule, or a cron Airflow cannot
            read.
    """
    timetable = None
    assets: list[str] = []
    if watched_location(flow_decorators) is not None:
        others = [d for d in flow_decorators if not isinstance(d, TriggerDecorator)]
        if any(isinstance(d, (ScheduleDecorator, TriggerOnFinishDecorator)) for d in others):
            raise FlowDefinitionError(
                "on Airflow, @trigger makes the DAG poll its location on a schedule of its "
                "own, which cannot be combined with @schedule or @trigger_on_finish",
                hint="deploy the flow twice under different @project branches, one per way "
                "of starting it",
            )
        if poll_seconds < 1:
            raise FlowDefinitionError(
                f"airflow_poll_seconds={poll_seconds} must be at least 1",
                hint="set FLOWKIT_AIRFLOW_POLL_SECONDS to e.g. 60",
            )
        return f"datetime.timedelta(seconds={poll_seconds})", (_ASSETS,)
    for deco in flow_decorators:
        if isinstance(deco, ScheduleDecorator):
            timetable = f"CronTriggerTimetable({unix_cron(deco)!r}, timezone={deco.zone()!r})"
        if isinstance(deco, TriggerOnFinishDecorator):
            assets += [asset_source(asset_name(name, project)) for name in deco.upstream()]
    imports: list[str] = [_ASSETS]
    if timetable and assets:
        schedule = f"AssetOrTimeSchedule(timetable={timetable}, assets=[{', '.join(assets)}])"
        imports += [_TIMETABLE, _BOTH]
    elif timetable:
        schedule = timetable
        imports.append(_TIMETABLE)
    elif assets:
        schedule = f"[{', '.join(assets)}]"
    else:
        schedule = "None"
    return schedule, tuple(imports)


def finish_outlets(flow_name: str, project: Any = None) -> str:
    """The ``flowkit-finish`` task's outlets: the asset downstream flows are scheduled on."""
    return asset_source(asset_name(flow_name, project))
