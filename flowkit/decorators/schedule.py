"""``@schedule``, ``@trigger`` and ``@trigger_on_finish``: when a *deployed* flow runs.

They only declare; nothing here talks to AWS. ``check`` validates them and ``show`` prints them
(the AWS expression, time zone and next fire times); a local ``run`` ignores them, as Metaflow
does. The Step Functions plugin (``flowkit_sfn.events``) turns them into an EventBridge
Scheduler schedule, an EventBridge rule on S3 ``Object Created``, or a rule on another flow's
successful runs.
"""

from __future__ import annotations

import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flowkit.decorators.attach import flow_decorator, flow_decorators
from flowkit.decorators.base import DecoratorArgumentError, FlowDecorator
from flowkit.decorators.cron import PRESETS, CronError, CronSchedule, parse_cron
from flowkit.dsl.parameters import Parameter
from flowkit.errors import did_you_mean


def _located(cls: type[FlowDecorator]) -> Callable[..., Any]:
    """``flow_decorator(cls)``, also recording ``file:line`` of the ``@name(...)`` line.

    Errors then point at the decorator rather than at the class statement.
    """
    plain = flow_decorator(cls)

    def decorate(flow_cls: Any = None, **kwargs: Any) -> Any:
        caller = sys._getframe(1)
        where = f"{caller.f_code.co_filename}:{caller.f_lineno}"

        def apply(target: Any) -> Any:
            result = plain(target, **kwargs)
            record = flow_decorators(target)[0]
            if isinstance(record, (_Declaring, DecoratorArgumentError)):
                record.location = record.location or where
            if isinstance(record, _Declaring):
                # flow_init gets only the graph; @trigger(parameters=) checks the names it
                # maps against the parameters the flow class declares.
                record.flow_class = target
            return result

        return apply(flow_cls) if isinstance(flow_cls, type) else apply

    decorate.__name__ = cls.name
    decorate.__doc__ = cls.__doc__
    return decorate


class _Declaring(FlowDecorator, ABC):
    location = ""
    flow_class: type | None = None

    def _bad(self, message: str, hint: str) -> DecoratorArgumentError:
        return DecoratorArgumentError(f"@{self.name}: {message}", hint=hint, location=self.location)

    @abstractmethod
    def describe(self) -> list[str]:
        """Lines ``show`` prints for this decorator."""


class ScheduleDecorator(_Declaring):
    """Run the deployed flow on a schedule: ``hourly``, ``daily`` (the default), ``weekly`` or
    ``cron``, read in ``timezone`` (IANA name, default UTC).

    ``cron=`` takes standard 5-field Unix cron (``"0 6 * * *"``, converted for AWS) or 6-field
    AWS cron (``"0 6 * * ? *"``, passed as is); see :mod:`flowkit.decorators.cron`.
    """

    name = "schedule"
    defaults: ClassVar[dict[str, Any]] = {
        "hourly": False,
        "daily": None,  # None: not given, so the default when nothing else is
        "weekly": False,
        "cron": None,
        "timezone": None,
    }

    def flow_init(self, graph: Any) -> None:
        """Check the choice, the cron text and the time zone, and that it is the only one."""
        self.cron_schedule()
        self.zone()
        if self.flow_class is not None:
            schedules = [d for d in flow_decorators(self.flow_class) if isinstance(d, type(self))]
            if len(schedules) > 1 and schedules[0] is not self:
                raise self._bad(
                    "a flow has one schedule; this is a second @schedule",
                    hint="keep one @schedule (a cron expression can combine times)",
                )

    def cron_schedule(self) -> CronSchedule:
        """The schedule, checked.

        Raises:
            DecoratorArgumentError: More than one of hourly/daily/weekly/cron, or bad cron.
        """
        given = [k for k in ("hourly", "daily", "weekly") if self.attributes[k]]
        if self.attributes["cron"] is not None:
            given.append("cron")
        for key in ("hourly", "daily", "weekly"):
            if self.attributes[key] not in (True, False, None):
                raise self._bad(
                    f"{key}={self.attributes[key]!r} must be True or False",
                    hint=f"e.g. @schedule({key}=True)",
                )
        if len(given) > 1:
            raise self._bad(
                f"choose one of hourly, daily, weekly and cron (got {', '.join(given)})",
                hint=f"keep one, e.g. @schedule({given[-1]}=...)",
            )
        if given == ["cron"]:
            try:
                return parse_cron(self.attributes["cron"])
            except CronError as exc:
                raise self._bad(exc.message, exc.hint) from None
        preset = given[0] if given else "daily"
        return parse_cron(PRESETS[preset])

    def zone(self) -> str:
        """The IANA time zone the schedule is read in (``UTC`` unless given).

        Raises:
            DecoratorArgumentError: Not a known IANA time zone name.
        """
        name = self.attributes["timezone"]
        if name is None:
            return "UTC"
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            names = sorted(available_timezones())
            raise self._bad(
                f"unknown time zone {name!r}." + did_you_mean(str(name), names),
                hint='use an IANA name, e.g. timezone="Europe/Berlin" or "America/New_York"',
            ) from None
        return str(name)

    def next_times(self, count: int = 5, after: datetime | None = None) -> list[datetime]:
        """The next ``count`` fire times in the schedule's time zone."""
        start = after or datetime.now(timezone.utc)
        return self.cron_schedule().next_times(start, count, self.zone())

    def describe(self) -> list[str]:
        """The AWS expression, the time zone and the next five fire times."""
        schedule = self.cron_schedule()
        lines = [f"schedule: {schedule.aws_expression} in {self.zone()}"]
        if self.attributes["cron"] is not None and schedule.source != " ".join(schedule.fields):
            lines.append(f"  (from {schedule.source!r})")
        lines.append("  next runs:")
        lines += [f"    {t:%Y-%m-%d %H:%M %Z} ({t:%a})" for t in self.next_times()]
        return lines


_S3_URL = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?$")


@dataclass(frozen=True)
class S3Trigger:
    """What a deployer needs for an S3 trigger: an EventBridge rule on ``Object Created``."""

    bucket: str
    prefix: str
    suffix: str


@dataclass(frozen=True)
class WatchedLocation:
    """Where ``@trigger`` looks for new objects.

    Attributes:
        kind: ``"s3"`` or ``"path"`` (a local folder).
        url: ``s3://bucket/prefix`` or the folder, ending in ``/``.
        suffix: Only names ending in this count (``""``: every name).
    """

    kind: str
    url: str
    suffix: str


#: What ``@trigger(parameters=...)`` can hand a flow parameter, from the object that landed.
S3_FIELDS = ("url", "bucket", "key", "etag", "version_id")


class TriggerDecorator(_Declaring):
    """Start the deployed flow when an object lands under an S3 prefix or in a local folder.

    ``@trigger(s3="s3://bucket/incoming/", suffix=".parquet", parameters={"src": "url"})``, or
    ``@trigger(path="/data/incoming/", ...)`` for a local folder (exactly one of the two; a
    folder is watched only by deployers that poll, such as Airflow's). The run sees the object
    in ``current.trigger`` (type ``s3`` or ``path``, ``url``, ``bucket``, ``key``, ``etag``,
    ``version_id``); ``parameters=`` maps flow parameters to those fields, so the object's URL,
    etag or version reach the run as parameter values.
    """

    name = "trigger"
    defaults: ClassVar[dict[str, Any]] = {
        "s3": None,
        "path": None,
        "suffix": "",
        "parameters": {},
    }

    def flow_init(self, graph: Any) -> None:
        """Check the location (S3 URL or local folder), the suffix and the parameters mapping."""
        self.watched()
        self.parameter_fields()

    def watched(self) -> WatchedLocation:
        """Where new objects are looked for, checked: exactly one of ``s3=`` and ``path=``.

        Raises:
            DecoratorArgumentError: Neither or both given, an invalid S3 URL, a folder that is
                not an absolute path, or a suffix that is not a string.
        """
        folder = self.attributes["path"]
        if folder is None:
            found = self.s3_trigger()
            url = f"s3://{found.bucket}/{found.prefix}"
            return WatchedLocation("s3", url, found.suffix)
        example = '@trigger(path="/data/incoming/", suffix=".csv")'
        if self.attributes["s3"] is not None:
            raise self._bad(
                "give either s3= or path=, not both", hint=f"e.g. {example}, or s3= alone"
            )
        if not isinstance(folder, str) or not PurePosixPath(folder).is_absolute():
            raise self._bad(
                f"path={folder!r} must be an absolute local folder", hint=f"e.g. {example}"
            )
        suffix = self.attributes["suffix"]
        if not isinstance(suffix, str):
            raise self._bad(f"suffix={suffix!r} must be a string", hint=f"e.g. {example}")
        return WatchedLocation("path", folder.rstrip("/") + "/", suffix)

    def parameter_fields(self) -> dict[str, str]:
        """The ``parameters=`` mapping (flow parameter name -> object field), checked.

        Raises:
            DecoratorArgumentError: Not a dict of strings, a field that is not one of
                :data:`S3_FIELDS`, a name the flow declares no parameter for, or a required
                parameter without default that the mapping leaves out (no value could reach it).
        """
        mapping = self.attributes["parameters"]
        example = '@trigger(s3="s3://my-bucket/incoming/", parameters={"src": "url"})'
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
        ):
            raise self._bad(
                f"parameters={mapping!r} must map flow parameter names to object fields",
                hint=f"e.g. {example}",
            )
        for name, field in mapping.items():
            if field not in S3_FIELDS:
                raise self._bad(
                    f"parameters: {name!r} is mapped to {field!r}, which is not a field of the "
                    "object." + did_you_mean(field, list(S3_FIELDS)),
                    hint=f"map it to one of {', '.join(S3_FIELDS)}",
                )
        declared = self._flow_parameters()
        if declared is None:
            return dict(mapping)
        for name in mapping:
            if name not in declared:
                known = ", ".join(sorted(declared)) or "none"
                raise self._bad(
                    f"parameters: the flow has no parameter {name!r}."
                    + did_you_mean(name, sorted(declared)),
                    hint=f"name one of the flow's parameters ({known}), or add "
                    f'{name} = Parameter("{name}") to the flow',
                )
        for name, parameter in declared.items():
            if parameter.required and parameter.default is None and name not in mapping:
                raise self._bad(
                    f"the flow's parameter {name!r} is required and has no default, and a run "
                    "started by this trigger gets no value for it",
                    hint=f'map it, e.g. parameters={{"{name}": "url"}}, or give it a default',
                )
        return dict(mapping)

    def _flow_parameters(self) -> dict[str, Parameter] | None:
        """The flow's parameters by name (``None`` when the decorator was not on a class)."""
        if self.flow_class is None:
            return None
        found: dict[str, Parameter] = {}
        for klass in reversed(self.flow_class.__mro__):
            for value in vars(klass).values():
                if isinstance(value, Parameter):
                    found[value.name] = value
        return found

    def s3_trigger(self) -> S3Trigger:
        """The bucket, prefix and suffix, checked.

        Raises:
            DecoratorArgumentError: No ``s3=``, or not an ``s3://bucket/prefix`` URL.
        """
        url, suffix = self.attributes["s3"], self.attributes["suffix"]
        example = '@trigger(s3="s3://my-bucket/incoming/", suffix=".parquet")'
        if url is None and self.attributes["path"] is not None:
            raise self._bad(
                f"this trigger watches the local folder {self.attributes['path']!r}, not S3",
                hint=f"this deployer watches S3 only: {example}",
            )
        if url is None:
            raise self._bad("give the S3 location to watch with s3=", hint=f"e.g. {example}")
        match = _S3_URL.match(url) if isinstance(url, str) else None
        if not match or ".." in match.group(1):
            raise self._bad(
                f"s3={url!r} is not an s3://bucket/prefix URL with a valid bucket name",
                hint=f"bucket names are 3-63 lowercase letters, digits, '.' and '-'; {example}",
            )
        if not isinstance(suffix, str):
            raise self._bad(f"suffix={suffix!r} must be a string", hint=f"e.g. {example}")
        return S3Trigger(match.group(1), match.group(2) or "", suffix)

    def describe(self) -> list[str]:
        """One line: what starts a run."""
        found = self.watched()
        where = found.url + (f"*{found.suffix}" if found.suffix else "")
        event = " (Object Created)" if found.kind == "s3" else " (polled)"
        lines = [f"trigger: a new object under {where}{event}"]
        for name, field in self.parameter_fields().items():
            lines.append(f"  parameter {name} = the object's {field}")
        return lines


class TriggerOnFinishDecorator(_Declaring):
    """Start the deployed flow when a deployed run of another flow succeeds.

    ``@trigger_on_finish(flow="TrainFlow")`` or ``flows=["TrainFlow", "EvalFlow"]``.
    """

    name = "trigger_on_finish"
    defaults: ClassVar[dict[str, Any]] = {"flow": None, "flows": []}

    def flow_init(self, graph: Any) -> None:
        """Check the flow names (and that a flow does not trigger itself)."""
        for name in self.upstream():
            if name == graph.name:
                raise self._bad(
                    f"{name} would trigger itself in an endless loop",
                    hint="name another flow",
                )

    def upstream(self) -> list[str]:
        """The upstream flow names, checked.

        Raises:
            DecoratorArgumentError: None given, or a name is not a Python identifier.
        """
        flow, flows = self.attributes["flow"], self.attributes["flows"]
        example = '@trigger_on_finish(flow="TrainFlow")'
        if not isinstance(flows, (list, tuple)):
            raise self._bad("flows= must be a list of flow names", hint=f"or use {example}")
        names = ([flow] if flow is not None else []) + list(flows)
        if not names:
            raise self._bad("name the upstream flow with flow= or flows=", hint=f"e.g. {example}")
        for name in names:
            if not isinstance(name, str) or not name.isidentifier():
                raise self._bad(
                    f"{name!r} is not a flow name (a flow is named by its class, an identifier)",
                    hint=f"e.g. {example}",
                )
        return names

    def describe(self) -> list[str]:
        """One line per upstream flow."""
        return [f"trigger: a successful run of {name}" for name in self.upstream()]


schedule = _located(ScheduleDecorator)
trigger = _located(TriggerDecorator)
trigger_on_finish = _located(TriggerOnFinishDecorator)


def describe_deployment_triggers(decorators: list[Any]) -> list[str]:
    """Lines describing every schedule and trigger among a flow's checked decorators."""
    lines: list[str] = []
    for deco in decorators:
        if isinstance(deco, _Declaring):
            lines += deco.describe()
    return lines
