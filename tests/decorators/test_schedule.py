"""``@schedule``, ``@trigger``, ``@trigger_on_finish``: cron reading, AWS conversion, fire times
across daylight-saving changes, and what ``show`` / ``check`` / ``run`` do with them."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from flowtests import FlowRunner

from flowkit.decorators.base import DecoratorArgumentError
from flowkit.decorators.cron import CronError, parse_cron
from flowkit.decorators.schedule import (
    ScheduleDecorator,
    TriggerDecorator,
    TriggerOnFinishDecorator,
)

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fire_times(cron: str, after: datetime, tz: str, count: int = 5) -> list[datetime]:
    """Fire times as UTC datetimes, so expected values are unambiguous."""
    return [t.astimezone(UTC) for t in parse_cron(cron).next_times(after, count, tz)]


# -- Unix (5 fields) -> AWS (6 fields) ------------------------------------------------------------
@pytest.mark.parametrize(
    ("unix", "aws"),
    [
        ("0 6 * * *", "cron(0 6 * * ? *)"),
        ("*/15 * * * *", "cron(0/15 * * * ? *)"),
        ("0 9 * * 1-5", "cron(0 9 ? * 2-6 *)"),  # Mon-Fri: Unix 1-5, AWS 2-6
        ("0 0 1 * *", "cron(0 0 1 * ? *)"),
        ("0 0 * * 0", "cron(0 0 ? * 1 *)"),  # Unix 0 = Sunday = AWS 1
        ("* * * * 7", "cron(* * ? * 1 *)"),  # Unix 7 = Sunday too
        ("0 0 * * 6,0", "cron(0 0 ? * 1,7 *)"),  # Saturday and Sunday
        ("0 0 * * 5-7", "cron(0 0 ? * 1,6,7 *)"),  # Fri, Sat, Sun
        ("0 0 * * */2", "cron(0 0 ? * 1,3,5,7 *)"),  # Unix 0,2,4,6
        ("0 0 * * 0-6", "cron(0 0 ? * * *)"),  # every day of the week
        ("30 8 * JAN,JUL SUN", "cron(30 8 ? JAN,JUL 1 *)"),
        ("0 12 * * mon-fri", "cron(0 12 ? * 2-6 *)"),
        ("0 */6 1-7 * *", "cron(0 0/6 1-7 * ? *)"),
    ],
)
def test_unix_cron_is_converted_to_aws(unix, aws):
    assert parse_cron(unix).aws_expression == aws


@pytest.mark.parametrize(
    "aws",
    ["0 0 L * ? *", "0 10 ? * 6#3 *", "0 9 ? * MON-FRI *", "0 0 15W * ? *", "0 0 ? * 6L 2026-2030"],
)
def test_aws_cron_is_kept_as_given(aws):
    assert parse_cron(aws).aws_expression == f"cron({aws})"
    assert parse_cron(f"cron({aws})").aws_expression == f"cron({aws})"


def test_unix_weekday_numbers_fire_on_the_same_days_as_their_aws_conversion():
    after = utc(2026, 6, 1)  # a Monday
    for unix, weekdays in [
        ("0 9 * * 1-5", {0, 1, 2, 3, 4}),
        ("0 0 * * 0", {6}),
        ("0 0 * * 7", {6}),
    ]:
        times = fire_times(unix, after, "UTC", 10)
        assert {t.weekday() for t in times} == weekdays, unix
        aws = parse_cron(unix).aws_expression[5:-1]
        assert fire_times(aws, after, "UTC", 10) == times


# -- AWS special forms, checked against dates worked out on a calendar -----------------------------
def test_last_day_of_month_includes_a_leap_february():
    assert fire_times("0 0 L * ? *", utc(2028, 1, 15), "UTC", 3) == [
        utc(2028, 1, 31),
        utc(2028, 2, 29),
        utc(2028, 3, 31),
    ]


def test_third_friday_of_the_month():
    # 2026: Jan 2, Feb 6 and Mar 6 are the first Fridays
    assert fire_times("0 10 ? * 6#3 *", utc(2026, 1, 1), "UTC", 3) == [
        utc(2026, 1, 16, 10),
        utc(2026, 2, 20, 10),
        utc(2026, 3, 20, 10),
    ]


def test_last_friday_and_nearest_weekday():
    assert fire_times("0 0 ? * 6L *", utc(2026, 1, 1), "UTC", 2) == [
        utc(2026, 1, 30),
        utc(2026, 2, 27),
    ]
    # 2026-08-15 is a Saturday -> Friday the 14th; 2026-11-15 a Sunday -> Monday the 16th
    times = fire_times("0 0 15W * ? *", utc(2026, 8, 1), "UTC", 4)
    assert times == [utc(2026, 8, 14), utc(2026, 9, 15), utc(2026, 10, 15), utc(2026, 11, 16)]


def test_a_year_field_ends_the_schedule():
    assert fire_times("0 0 1 1 ? 2027", utc(2026, 6, 1), "UTC") == [utc(2027, 1, 1)]


# -- time zones and daylight saving (Europe/Berlin, 2026: Mar 29 02:00 -> 03:00, Oct 25 03:00 ->
# 02:00); CET = UTC+1, CEST = UTC+2 ------------------------------------------------------------
def test_a_time_skipped_by_spring_forward_does_not_fire():
    assert fire_times("30 2 * * *", utc(2026, 3, 27), "Europe/Berlin") == [
        utc(2026, 3, 27, 1, 30),  # 02:30 CET
        utc(2026, 3, 28, 1, 30),
        # 2026-03-29 02:30 does not exist in Berlin
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
        utc(2026, 3, 31, 0, 30),
        utc(2026, 4, 1, 0, 30),
    ]


def test_a_time_repeated_by_fall_back_fires_once():
    assert fire_times("30 2 * * *", utc(2026, 10, 23), "Europe/Berlin") == [
        utc(2026, 10, 23, 0, 30),  # 02:30 CEST
        utc(2026, 10, 24, 0, 30),
        utc(2026, 10, 25, 0, 30),  # the first 02:30 (CEST); the second (CET) does not fire
        utc(2026, 10, 26, 1, 30),  # 02:30 CET
        utc(2026, 10, 27, 1, 30),
    ]


def test_hourly_across_both_changes():
    spring = fire_times("0 * * * ? *", utc(2026, 3, 28, 23, 30), "Europe/Berlin")
    assert spring == [utc(2026, 3, 29, h) for h in range(5)]  # local 01, 03, 04, 05, 06
    fall = fire_times("0 * * * ? *", utc(2026, 10, 24, 23, 30), "Europe/Berlin")
    assert fall == [utc(2026, 10, 25, h) for h in (0, 2, 3, 4, 5)]  # the 2nd 02:00 is skipped


def test_fire_times_are_given_in_the_schedule_time_zone():
    (first,) = parse_cron("0 6 * * *").next_times(utc(2026, 7, 1), 1, "Europe/Berlin")
    assert (first.hour, first.tzname()) == (6, "CEST")
    assert first.astimezone(UTC) == utc(2026, 7, 1, 4)


# -- invalid cron ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("0 6 * * * *", "exactly one of day-of-month and day-of-week"),  # seconds-first style
        ("0 6 ? * ? *", "both are '?'"),
        ("0 6 1 * MON *", "exactly one of"),
        ("60 * * * *", "60 is outside 0-59"),
        ("0 24 * * *", "24 is outside 0-23"),
        ("0 0 32 * *", "32 is outside 1-31"),
        ("0 0 * 13 *", "13 is outside 1-12"),
        ("0 0 * * 8", "8 is outside 0-7"),
        ("0 0 ? * 8 *", "8 is outside 1-7"),
        ("0 0 ? * 6#6 *", "6 is outside 1-5"),
        ("0 0 1 * 1", "EITHER"),
        ("0 0 * * FRI-MON", "goes backwards"),
        ("*/0 * * * *", "a step of 0"),
        ("0 0 * FOO *", "'FOO' is not a number"),
        ("* * *", "has 3 fields"),
        ("", "has 0 fields"),
        ("cron(0 6 * * *)", "has 5 fields"),  # the cron(...) form is AWS only
    ],
)
def test_invalid_cron_says_what_is_wrong(cron, words):
    with pytest.raises(CronError) as info:
        parse_cron(cron)
    assert words in info.value.message
    assert info.value.hint


# -- the decorators ------------------------------------------------------------------------------
GRAPH = SimpleNamespace(name="MyFlow")


def test_schedule_presets_and_default():
    assert ScheduleDecorator().cron_schedule().aws_expression == "cron(0 0 * * ? *)"
    assert ScheduleDecorator(hourly=True).cron_schedule().aws_expression == "cron(0 * * * ? *)"
    assert ScheduleDecorator(daily=True).cron_schedule().aws_expression == "cron(0 0 * * ? *)"
    weekly = ScheduleDecorator(weekly=True).cron_schedule()
    assert weekly.aws_expression == "cron(0 0 ? * SUN *)"
    assert all(t.weekday() == 6 for t in weekly.next_times(utc(2026, 1, 1), 3))


@pytest.mark.parametrize(
    ("attributes", "words"),
    [
        ({"hourly": True, "daily": True}, "choose one of hourly, daily, weekly and cron"),
        ({"weekly": True, "cron": "0 6 * * *"}, "got weekly, cron"),
        ({"cron": "0 6 * * * *"}, "exactly one of day-of-month"),
        ({"timezone": "Europe/Berln"}, 'Did you mean "Europe/Berlin"'),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"hourly": "yes"}, "must be True or False"),
    ],
)
def test_schedule_misuse(attributes, words):
    deco = ScheduleDecorator(**attributes)
    deco.location = "flow.py:4"
    with pytest.raises(DecoratorArgumentError) as info:
        deco.flow_init(GRAPH)
    assert words in info.value.message
    assert info.value.location == "flow.py:4"
    assert info.value.hint


def test_unknown_schedule_argument():
    with pytest.raises(DecoratorArgumentError, match="no argument 'time_zone'"):
        ScheduleDecorator(time_zone="UTC")


def test_s3_trigger_parts():
    found = TriggerDecorator(s3="s3://my-bucket/incoming/", suffix=".parquet").s3_trigger()
    assert (found.bucket, found.prefix, found.suffix) == ("my-bucket", "incoming/", ".parquet")
    assert TriggerDecorator(s3="s3://my-bucket").s3_trigger().prefix == ""


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"s3": "https://my-bucket/x"},
        {"s3": "s3://My_Bucket/x"},
        {"s3": "s3://a..b/x"},
        {"s3": "s3://ok-bucket/x", "suffix": 3},
        {"path": "relative/folder"},
        {"path": "/data/in/", "s3": "s3://ok-bucket/x"},
        {"path": "/data/in/", "suffix": 3},
    ],
)
def test_s3_trigger_misuse(attributes):
    with pytest.raises(DecoratorArgumentError, match="@trigger"):
        TriggerDecorator(**attributes).flow_init(GRAPH)


def test_trigger_on_finish():
    deco = TriggerOnFinishDecorator(flow="TrainFlow", flows=["EvalFlow"])
    deco.flow_init(GRAPH)
    assert deco.upstream() == ["TrainFlow", "EvalFlow"]
    for bad, words in [
        ({}, "name the upstream flow"),
        ({"flow": "Train-Flow"}, "not a flow name"),
        ({"flows": "TrainFlow"}, "must be a list"),
        ({"flow": "MyFlow"}, "trigger itself"),
    ]:
        with pytest.raises(DecoratorArgumentError, match=words):
            TriggerOnFinishDecorator(**bad).flow_init(GRAPH)


def test_a_local_folder_trigger():
    deco = TriggerDecorator(path="/data/incoming", suffix=".csv", parameters={})
    deco.flow_init(GRAPH)
    found = deco.watched()
    assert (found.kind, found.url, found.suffix) == ("path", "/data/incoming/", ".csv")
    assert deco.describe() == ["trigger: a new object under /data/incoming/*.csv (polled)"]
    s3 = TriggerDecorator(s3="s3://my-bucket/in/").watched()
    assert (s3.kind, s3.url, s3.suffix) == ("s3", "s3://my-bucket/in/", "")
    with pytest.raises(DecoratorArgumentError, match="local folder '/data/incoming'"):
        deco.s3_trigger()  # what a deployer that watches S3 only asks for


# -- as users run them -------------------------------------------------------------------------
FLOW = """\
from flowkit import FlowSpec, schedule, step, trigger, trigger_on_finish


@schedule({schedule})
@trigger(s3="s3://my-bucket/incoming/", suffix=".parquet")
@trigger_on_finish(flow="TrainFlow")
class ScheduledFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        print("ran locally")


if __name__ == "__main__":
    ScheduledFlow()
"""


def _flow(tmp_path: Path, schedule: str) -> tuple[FlowRunner, Path]:
    path = tmp_path / "scheduled.py"
    path.write_text(FLOW.format(schedule=schedule))
    return FlowRunner(tmp_path / "datastore", tmp_path), path


def test_show_prints_the_aws_expression_zone_next_runs_and_triggers(tmp_path):
    runner, flow = _flow(tmp_path, 'cron="0 9 * * 1-5", timezone="Europe/Berlin"')
    result = runner(flow, "show")
    assert result.returncode == 0, result.output
    out = result.stdout
    assert "schedule: cron(0 9 ? * 2-6 *) in Europe/Berlin" in out
    assert "(from '0 9 * * 1-5')" in out
    runs = re.findall(r"^ +(\d{4}-\d\d-\d\d) 09:00 (CET|CEST) \((\w{3})\)$", out, re.M)
    assert len(runs) == 5
    assert {day for _, _, day in runs} <= {"Mon", "Tue", "Wed", "Thu", "Fri"}
    assert "trigger: a new object under s3://my-bucket/incoming/*.parquet" in out
    assert "trigger: a successful run of TrainFlow" in out


def test_check_rejects_a_bad_cron_with_the_decorator_line(tmp_path):
    runner, flow = _flow(tmp_path, 'cron="0 6 * * * *"')
    for command in ("check", "show"):
        result = runner(flow, command)
        assert result.returncode != 0
        assert f"{flow.name}:4: @schedule: cron '0 6 * * * *'" in result.stderr
        assert "Fix:" in result.stderr
        assert "Traceback" not in result.stderr


def test_check_accepts_a_good_schedule_and_run_ignores_it(tmp_path):
    runner, flow = _flow(tmp_path, "hourly=True")
    check = runner(flow, "check")
    assert check.returncode == 0, check.output
    assert "is valid" in check.stdout
    run = runner(flow, "run")
    assert run.returncode == 0, run.output
    assert "ran locally" in run.stdout
