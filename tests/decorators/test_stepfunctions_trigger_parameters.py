"""``@trigger(parameters=...)``: which flow parameters a data-arrival run gets from the object,
checked when the flow is checked (``python flow.py check``) and shown by ``show``."""

from __future__ import annotations

from pathlib import Path

import pytest
from flowtests import FlowRunner

from flowkit import FlowSpec, Parameter, step, trigger
from flowkit.decorators.base import DecoratorArgumentError
from flowkit.decorators.schedule import S3_FIELDS, TriggerDecorator


def _flow_with(**trigger_args: object) -> type:
    class LandingFlow(FlowSpec):
        src = Parameter("src", default="")
        tag = Parameter("tag", default="")

        @step
        def start(self) -> None:
            self.next(self.end)

        @step
        def end(self) -> None:
            pass

    return trigger(s3="s3://landing/in/", **trigger_args)(LandingFlow)


def _deco(flow: type) -> TriggerDecorator:
    from flowkit.decorators.attach import flow_decorators

    [deco] = flow_decorators(flow)
    assert isinstance(deco, TriggerDecorator)
    return deco


def test_the_mapping_is_kept_and_shown() -> None:
    deco = _deco(_flow_with(parameters={"src": "url", "tag": "version_id"}))
    assert deco.parameter_fields() == {"src": "url", "tag": "version_id"}
    assert deco.describe()[1:] == [
        "  parameter src = the object's url",
        "  parameter tag = the object's version_id",
    ]
    assert _deco(_flow_with()).parameter_fields() == {}
    assert S3_FIELDS == ("url", "bucket", "key", "etag", "version_id")


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        ({"src": "uri"}, "'uri', which is not a field of the object. Did you mean \"url\"?"),
        ({"scr": "url"}, "the flow has no parameter 'scr'. Did you mean \"src\"?"),
        (["src"], "must map flow parameter names to object fields"),
        ({"src": 1}, "must map flow parameter names to object fields"),
    ],
)
def test_a_bad_mapping_says_what_is_wrong(mapping: object, words: str) -> None:
    with pytest.raises(DecoratorArgumentError, match="@trigger") as caught:
        _deco(_flow_with(parameters=mapping)).parameter_fields()
    assert words in str(caught.value)
    assert "Fix:" in str(caught.value)


def _needs_input() -> type:
    class NeedsInput(FlowSpec):
        src = Parameter("src", required=True)

        @step
        def start(self) -> None:
            self.next(self.end)

        @step
        def end(self) -> None:
            pass

    return NeedsInput


def test_a_required_parameter_the_trigger_cannot_fill_is_refused() -> None:
    deco = _deco(trigger(s3="s3://landing/in/")(_needs_input()))
    with pytest.raises(DecoratorArgumentError, match="'src' is required and has no default"):
        deco.parameter_fields()
    mapped = _deco(trigger(s3="s3://landing/in/", parameters={"src": "url"})(_needs_input()))
    assert mapped.parameter_fields() == {"src": "url"}


FLOW = """\
from flowkit import FlowSpec, Parameter, step, trigger


@trigger(s3="s3://landing/in/", suffix=".csv", parameters={mapping})
class LandingFlow(FlowSpec):
    src = Parameter("src", default="")

    @step
    def start(self):
        print("src is", repr(self.src))
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LandingFlow()
"""


def _landing(tmp_path: Path, mapping: str) -> tuple[FlowRunner, Path]:
    path = tmp_path / "landing.py"
    path.write_text(FLOW.format(mapping=mapping))
    return FlowRunner(tmp_path / "datastore", tmp_path), path


def test_check_names_the_decorator_line_of_an_unknown_parameter(tmp_path: Path) -> None:
    runner, flow = _landing(tmp_path, '{"source": "url"}')
    result = runner(flow, "check")
    assert result.returncode != 0
    assert f"{flow.name}:4: @trigger: parameters: the flow has no parameter 'source'" in (
        result.stderr
    )
    assert "Fix:" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_show_and_a_local_run_accept_a_good_mapping(tmp_path: Path) -> None:
    runner, flow = _landing(tmp_path, '{"src": "url"}')
    check = runner(flow, "check")
    assert check.returncode == 0, check.output
    show = runner(flow, "show")
    assert show.returncode == 0, show.output
    assert "parameter src = the object's url" in show.stdout
    run = runner(flow, "run", "--src", "s3://landing/in/a.csv")  # locally: an ordinary option
    assert run.returncode == 0, run.output
    assert "src is 's3://landing/in/a.csv'" in run.stdout


def test_a_second_schedule_is_refused_at_check(tmp_path: Path) -> None:
    path = tmp_path / "twice.py"
    path.write_text(
        "from flowkit import FlowSpec, schedule, step\n\n\n"
        "@schedule(hourly=True)\n"
        '@schedule(cron="0 6 * * *")\n'
        "class TwiceFlow(FlowSpec):\n"
        "    @step\n"
        "    def start(self):\n"
        "        self.next(self.end)\n\n"
        "    @step\n"
        "    def end(self):\n"
        "        pass\n\n\n"
        'if __name__ == "__main__":\n'
        "    TwiceFlow()\n"
    )
    result = FlowRunner(tmp_path / "datastore", tmp_path)(path, "check")
    assert result.returncode != 0
    assert "twice.py:5: @schedule: a flow has one schedule" in result.stderr
    assert "Fix:" in result.stderr
