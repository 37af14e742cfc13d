"""A small cron model: Unix and AWS cron text, the AWS form a deployer sends, and fire times.

Two dialects are read, told apart by their number of fields:

* **Unix** (5 fields): ``minute hour day-of-month month day-of-week``; day-of-week 0-7 where 0
  and 7 are Sunday; ``*`` in both day fields means every day.
* **AWS** (6 fields, what EventBridge Scheduler takes): ``minute hour day-of-month month
  day-of-week year``; day-of-week 1-7 where **1 is Sunday**; exactly one of the two day fields
  must be ``?``; ``L`` (last), ``W`` (nearest weekday) and ``#`` (nth weekday of the month).

A six-field expression is never read as "seconds first" (as Quartz and several cron libraries
do): AWS has no seconds, and a sixth field there is the year.

Fire times follow EventBridge Scheduler's rules for time zones: a wall-clock time skipped when
clocks go forward does not fire; a time that occurs twice when clocks go back fires once, at its
first occurrence.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flowkit.errors import FlowDefinitionError

MONTHS = {name.upper(): i + 1 for i, name in enumerate(calendar.month_abbr[1:])}
#: Day names in AWS numbering (1 = Sunday).
AWS_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
UNIX_DAYS = {name: number - 1 for name, number in AWS_DAYS.items()}
#: How far ahead :meth:`CronSchedule.next_times` looks before giving up (a year field may
#: allow no future date at all).
_SEARCH_DAYS = 366 * 30

#: The predefined schedules, as AWS expressions (midnight and Sunday as Metaflow has them).
PRESETS = {
    "hourly": "0 * * * ? *",
    "daily": "0 0 * * ? *",
    "weekly": "0 0 ? * SUN *",
}


class CronError(FlowDefinitionError):
    """A cron expression cannot be read, or cannot be expressed for AWS."""


_ITEM = re.compile(r"^(?:(\*)|([A-Z0-9]+)(?:-([A-Z0-9]+))?)(?:/(\d+))?$")


def _number(text: str, field: str, names: dict[str, int], low: int, high: int) -> int:
    if text in names:
        return names[text]
    if not text.isdigit():
        known = f" or a name ({', '.join(names)})" if names else ""
        raise CronError(f"{field} field: {text!r} is not a number{known}")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{field} field: {value} is outside {low}-{high}")
    return value


def _values(
    text: str, field: str, low: int, high: int, names: dict[str, int] | None = None
) -> set[int]:
    """The numbers a field of plain items (``*``, ``a``, ``a-b``, ``/step``, lists) allows."""
    names = names or {}
    result: set[int] = set()
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            raise CronError(f"{field} field: cannot read {item!r}")
        star, first, last, step = match.groups()
        if star:
            start, end = low, high
        else:
            start = _number(first, field, names, low, high)
            end = _number(last, field, names, low, high) if last else (high if step else start)
        if end < start:
            raise CronError(f"{field} field: the range {item!r} goes backwards")
        stride = int(step) if step else 1
        if stride == 0:
            raise CronError(f"{field} field: a step of 0 in {item!r}")
        result.update(range(start, end + 1, stride))
    return result


@dataclass(frozen=True)
class _DayRule:
    """One day field's meaning: plain values, or one of the special forms."""

    values: frozenset[int] = frozenset()
    last: bool = False  # day-of-month L
    nearest_weekday: int = 0  # day-of-month nW (0: none); -1: LW
    last_weekday_of: int = 0  # day-of-week nL: last such day of the month
    nth: tuple[int, int] = (0, 0)  # day-of-week n#k: (day, k)

    def matches_month_day(self, day: date) -> bool:
        month_end = calendar.monthrange(day.year, day.month)[1]
        if self.last:
            return day.day == month_end
        if self.nearest_weekday:
            target = month_end if self.nearest_weekday == -1 else self.nearest_weekday
            return day == _nearest_weekday(day.year, day.month, min(target, month_end))
        return day.day in self.values

    def matches_week_day(self, day: date) -> bool:
        weekday = aws_weekday(day)
        month_end = calendar.monthrange(day.year, day.month)[1]
        if self.last_weekday_of:
            return weekday == self.last_weekday_of and day.day + 7 > month_end
        if self.nth != (0, 0):
            return weekday == self.nth[0] and (day.day - 1) // 7 + 1 == self.nth[1]
        return weekday in self.values


def aws_weekday(day: date) -> int:
    """The AWS day-of-week number of ``day`` (1 = Sunday ... 7 = Saturday)."""
    return (day.weekday() + 1) % 7 + 1


def _nearest_weekday(year: int, month: int, target: int) -> date:
    """The weekday nearest to ``target`` in the month, never crossing into another month."""
    day = date(year, month, target)
    if day.weekday() == 5:  # Saturday: Friday before, unless that is last month
        return day - timedelta(days=1) if target > 1 else day + timedelta(days=2)
    if day.weekday() == 6:  # Sunday: Monday after, unless that is next month
        month_end = calendar.monthrange(year, month)[1]
        return day + timedelta(days=1) if target < month_end else day - timedelta(days=2)
    return day


def _day_of_month_rule(text: str) -> _DayRule:
    if text == "L":
        return _DayRule(last=True)
    if text == "LW":
        return _DayRule(nearest_weekday=-1)
    if text.endswith("W"):
        return _DayRule(nearest_weekday=_number(text[:-1], "day-of-month", {}, 1, 31))
    return _DayRule(values=frozenset(_values(text, "day-of-month", 1, 31)))


def _day_of_week_rule(text: str) -> _DayRule:
    if "#" in text:
        day_text, _, nth_text = text.partition("#")
        day = _number(day_text, "day-of-week", AWS_DAYS, 1, 7)
        nth = _number(nth_text, "day-of-week (#n)", {}, 1, 5)
        return _DayRule(nth=(day, nth))
    if text == "L":  # alone, L is the last day of the week: Saturday
        return _DayRule(values=frozenset({7}))
    if text.endswith("L"):
        return _DayRule(last_weekday_of=_number(text[:-1], "day-of-week", AWS_DAYS, 1, 7))
    return _DayRule(values=frozenset(_values(text, "day-of-week", 1, 7, AWS_DAYS)))


@dataclass(frozen=True)
class CronSchedule:
    """A schedule in AWS form, checked, with the fire times it gives.

    Attributes:
        fields: The six AWS fields (minute, hour, day-of-month, month, day-of-week, year).
        source: The text it was read from (Unix or AWS), for messages.
    """

    fields: tuple[str, str, str, str, str, str]
    source: str

    @property
    def aws_expression(self) -> str:
        """The expression EventBridge Scheduler takes: ``cron(0 6 * * ? *)``."""
        return f"cron({' '.join(self.fields)})"

    def _rules(
        self,
    ) -> tuple[set[int], set[int], _DayRule | None, set[int], _DayRule | None, set[int]]:
        minute, hour, dom, month, dow, year = self.fields
        return (
            _values(minute, "minute", 0, 59),
            _values(hour, "hour", 0, 23),
            None if dom == "?" else _day_of_month_rule(dom),
            _values(month, "month", 1, 12, MONTHS),
            None if dow == "?" else _day_of_week_rule(dow),
            _values(year, "year", 1970, 2199),
        )

    def _days(self, start: date) -> Iterator[date]:
        _, _, dom, months, dow, years = self._rules()
        day = start
        for _ in range(_SEARCH_DAYS):
            if day.year in years and day.month in months:
                # exactly one of the two day rules is given (the other field is '?')
                rule_matches = (
                    dom.matches_month_day(day)
                    if dom is not None
                    else dow is not None and dow.matches_week_day(day)
                )
                if rule_matches:
                    yield day
            day += timedelta(days=1)

    def next_times(self, after: datetime, count: int = 5, tz: str = "UTC") -> list[datetime]:
        """The next ``count`` fire times strictly after ``after``, in time zone ``tz``.

        Args:
            after: An aware datetime.
            count: How many to return (fewer if the schedule ends, e.g. by its year field).
            tz: An IANA time zone name; the expression is read in its wall-clock time.

        Returns:
            Aware datetimes in ``tz``, in order.
        """
        zone = ZoneInfo(tz)
        minutes, hours = sorted(self._rules()[0]), sorted(self._rules()[1])
        local_start = after.astimezone(zone)
        found: list[datetime] = []
        for day in self._days(local_start.date()):
            for hour in hours:
                for minute in minutes:
                    wall = datetime(day.year, day.month, day.day, hour, minute)
                    moment = wall.replace(tzinfo=zone)  # fold=0: the first of a repeated time
                    back = moment.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
                    if back != wall or moment <= after:
                        continue  # skipped by the clocks going forward, or not yet due
                    found.append(moment)
                    if len(found) == count:
                        return found
        return found


def _check_aws_days(dom: str, dow: str, source: str) -> None:
    if (dom == "?") == (dow == "?"):
        both = "both are '?'" if dom == "?" else f"day-of-month is {dom!r} and day-of-week {dow!r}"
        raise CronError(
            f"cron {source!r}: exactly one of day-of-month and day-of-week must be '?' in "
            f"AWS cron ({both})",
            hint=(
                "put '?' in the field you do not restrict, e.g. '0 6 * * ? *' (every day) or "
                "'0 6 ? * MON-FRI *'. Six fields are read as AWS cron (min hour dom month dow "
                "year), never with seconds first; or give standard 5-field Unix cron"
            ),
        )


def _unix_to_aws(fields: list[str], source: str) -> tuple[str, str, str, str, str, str]:
    minute, hour, dom, month, dow = fields
    _values(minute, "minute", 0, 59)
    _values(hour, "hour", 0, 23)
    _values(dom, "day-of-month", 1, 31)
    _values(month, "month", 1, 12, MONTHS)
    unix_days = _values(dow, "day-of-week", 0, 7, UNIX_DAYS)
    if dom != "*" and dow != "*":
        raise CronError(
            f"cron {source!r}: Unix cron runs when EITHER the day of month or the day of week "
            "matches; AWS cron cannot say that",
            hint="restrict only one of the two day fields, or use two flows/schedules",
        )

    def from_star(text: str, low: int) -> str:  # AWS writes a step from * as first/step
        return re.sub(r"^\*/", f"{low}/", text)

    if dow == "*":
        aws_dom, aws_dow = from_star(dom, 1), "?"
    else:
        aws_dom, aws_dow = "?", _compact({d % 7 + 1 for d in unix_days})
    return (from_star(minute, 0), from_star(hour, 0), aws_dom, from_star(month, 1), aws_dow, "*")


def _compact(days: set[int]) -> str:
    """AWS day numbers as a short list: ``{2,3,4,5,6}`` -> ``2-6``."""
    ordered = sorted(days)
    if ordered == list(range(1, 8)):
        return "*"
    parts, run = [], [ordered[0]]
    for day in ordered[1:]:
        if day == run[-1] + 1:
            run.append(day)
            continue
        parts.append(run)
        run = [day]
    parts.append(run)
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ",".join(str(d) for d in r) for r in parts)


def parse_cron(text: str) -> CronSchedule:
    """Read a Unix (5-field) or AWS (6-field, optionally ``cron(...)``) cron expression.

    Raises:
        CronError: The text is not valid cron, or a Unix expression AWS cannot express.
    """
    if not isinstance(text, str):
        raise CronError(f"cron must be a string, not {type(text).__name__}")
    source = text.strip()
    inner = source[5:-1] if source.startswith("cron(") and source.endswith(")") else source
    fields = inner.upper().split()
    try:
        if len(fields) == 5 and not source.startswith("cron("):
            aws = _unix_to_aws(fields, source)
        elif len(fields) == 6:
            _check_aws_days(fields[2], fields[4], source)
            aws = (fields[0], fields[1], fields[2], fields[3], fields[4], fields[5])
        else:
            raise CronError(
                f"cron {source!r} has {len(fields)} fields",
                hint="give 5 (Unix: min hour dom month dow) or 6 (AWS: min hour dom month "
                "dow year), e.g. '0 6 * * *' or '0 6 * * ? *'",
            )
        schedule = CronSchedule(aws, source)
        schedule._rules()  # every field readable
    except CronError as exc:
        if not exc.message.startswith("cron "):
            exc.message = f"cron {source!r}: {exc.message}"
        if not exc.hint:
            exc.hint = (
                "fields are min (0-59) hour (0-23) day-of-month (1-31) month (1-12 or JAN-DEC) "
                "day-of-week (Unix 0-7, 0/7=Sunday; AWS 1-7, 1=Sunday; or SUN-SAT) [year]"
            )
        raise
    return schedule
