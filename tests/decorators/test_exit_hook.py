"""``@exit_hook``: run through ``python flow.py run`` / ``resume``, and through the API."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from flowtests import FLOWS

from flowkit.cli.exit_hooks import call_exit_hooks
from flowkit.client import ClientContext
from flowkit.decorators.base import DecoratorArgumentError
from flowkit.decorators.exit_hook import ExitHookDecorator, takes_run
from flowkit.decorators.resolve import step_decorators

HOOKED = FLOWS / "exit_hooks" / "hooked.py"


def _notes(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _report(run: str, status: str, failed=(), origin=None) -> dict:
    return {
        "hook": "report",
        "run": run,
        "status": status,
        "successful": status == "succeeded",
        "failed": list(failed),
        "origin": origin,
    }


@pytest.fixture
def hook_log(tmp_path: Path) -> Path:
    return tmp_path / "hooks.jsonl"


def test_on_success_hooks_run_once_in_order_after_the_run_is_recorded(run_flow, hook_log):
    result = run_flow(HOOKED, "run", HOOK_LOG=str(hook_log))

    assert result.returncode == 0, result.output
    # the zero-argument hook is called bare, the one-argument hook gets the finished run
    assert _notes(hook_log) == [{"hook": "celebrate"}, _report("HookedFlow/1", "succeeded")]
    assert "hook: all good" in result.stdout
    assert "Exit hooks (on_success): 2 of 2 ran without error" in result.stderr
    assert result.stderr.index("Run HookedFlow/1 succeeded") < result.stderr.index("Exit hooks")


def test_on_error_hooks_see_the_failed_run_and_a_failing_hook_changes_nothing(run_flow, hook_log):
    result = run_flow(HOOKED, "run", HOOK_LOG=str(hook_log), HOOK_FAIL="1")

    assert result.returncode == 1, result.output
    # page_someone raised, and report (after it) still ran
    assert _notes(hook_log) == [_report("HookedFlow/1", "failed", ["HookedFlow/1/start/1"])]
    assert "flowkit: warning: exit hook page_someone failed" in result.stderr
    assert "RuntimeError: the pager is down" in result.stderr
    assert "During handling" not in result.stderr  # the hook's traceback alone, not chained
    assert "Exit hooks (on_error): 1 of 2 ran without error" in result.stderr
    assert "flowkit: run failed: run HookedFlow/1 failed" in result.stderr
    assert ClientContext(str(run_flow.root)).run("HookedFlow/1").status == "failed"


def test_a_failing_success_hook_leaves_the_run_succeeded_and_the_exit_code_zero(run_flow, hook_log):
    result = run_flow(HOOKED, "run", HOOK_LOG=str(hook_log), HOOK_BREAK="1")

    assert result.returncode == 0, result.output
    assert _notes(hook_log) == [_report("HookedFlow/1", "succeeded")]
    assert "exit hook celebrate failed" in result.stderr
    assert "RuntimeError: the chat service is down" in result.stderr
    assert ClientContext(str(run_flow.root)).run("HookedFlow/1").successful


def test_on_error_hooks_run_when_the_run_is_interrupted(run_flow, hook_log):
    result = run_flow(HOOKED, "run", HOOK_LOG=str(hook_log), HOOK_KILL="1")

    assert result.returncode == 143, result.output
    [note] = _notes(hook_log)
    assert (note["run"], note["status"], note["successful"]) == ("HookedFlow/1", "killed", False)


def test_hooks_run_on_resume_with_the_resumed_run(run_flow, hook_log):
    assert run_flow(HOOKED, "run", HOOK_LOG=str(hook_log), HOOK_FAIL="1").returncode == 1

    result = run_flow(HOOKED, "resume", HOOK_LOG=str(hook_log))

    assert result.returncode == 0, result.output
    assert _notes(hook_log)[1:] == [
        {"hook": "celebrate"},
        _report("HookedFlow/2", "succeeded", origin="1"),
    ]


def test_spawned_tasks_change_nothing_hooks_run_in_the_runner(run_flow, hook_log):
    result = run_flow(HOOKED, "run", "--launcher", "spawn", HOOK_LOG=str(hook_log))

    assert result.returncode == 0, result.output
    assert [n["hook"] for n in _notes(hook_log)] == ["celebrate", "report"]


def test_a_run_refused_before_it_starts_gives_on_error_hooks_none(run_flow, hook_log):
    # AWS Batch refuses a datastore on this machine before the run is recorded
    result = run_flow(HOOKED, "run", "--with", "batch", HOOK_LOG=str(hook_log))

    assert result.returncode == 2, result.output
    assert _notes(hook_log) == [{"hook": "report", "run": None}]
    assert "Exit hooks (on_error): 1 of 2 ran without error" in result.stderr
    assert not (run_flow.root / "HookedFlow").exists()


# -- through the API ------------------------------------------------------------------------


def test_a_run_that_never_started_gives_on_error_hooks_none():
    seen = []
    deco = ExitHookDecorator(on_error=[seen.append, lambda: seen.append("bare")])

    failed = call_exit_hooks([deco], SimpleNamespace(run_id=None), succeeded=False)

    assert (seen, failed) == ([None, "bare"], [])


def test_only_the_hooks_of_the_outcome_run():
    seen = []
    deco = ExitHookDecorator(
        on_success=[lambda: seen.append("ok")], on_error=[lambda: seen.append("error")]
    )
    runner = SimpleNamespace(run_id=None)
    call_exit_hooks([deco], runner, succeeded=True)
    call_exit_hooks([deco], runner, succeeded=False)
    assert seen == ["ok", "error"]


def test_a_hook_is_called_with_the_run_when_it_takes_an_argument():
    def bare(): ...

    def with_run(run): ...

    def optional(run=None): ...

    def star(*args): ...

    def keyword_only(*, verbose=False): ...

    assert [takes_run(f) for f in (bare, with_run, optional, star, keyword_only)] == [
        False,
        True,
        True,
        True,
        False,
    ]


def _notify(run): ...


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"on_success": _notify}, "on_success= must be a list of functions"),
        ({}, "has no hook to run"),
        ({"on_error": ["notify"]}, "which is not a function"),
        ({"on_error": [lambda run, channel: None]}, "requires run, channel"),
        ({"on_error": [lambda *, channel: None]}, "requires channel"),
        ({"on_sucess": [_notify]}, "has no argument 'on_sucess'"),
        ({"on_error": [_notify], "options": ["x"]}, "options= must be a dict"),
    ],
)
def test_misuse_is_an_error_with_a_fix(kwargs, message):
    with pytest.raises(DecoratorArgumentError) as info:
        ExitHookDecorator(**kwargs)
    assert message in info.value.message
    assert info.value.hint


def test_a_misused_exit_hook_stops_the_flow_before_anything_runs(run_flow, tmp_path):
    flow = tmp_path / "badhook.py"
    flow.write_text(
        textwrap.dedent(
            """
            from flowkit import FlowSpec, exit_hook, step

            def notify(run):
                print("never")

            @exit_hook(on_success=notify)
            class BadHookFlow(FlowSpec):
                @step
                def start(self):
                    self.next(self.end)

                @step
                def end(self):
                    pass

            if __name__ == "__main__":
                BadHookFlow()
            """
        )
    )
    checked = run_flow(flow, "check")
    ran = run_flow(flow, "run")

    for result in (checked, ran):
        assert result.returncode == 2, result.output
        assert "badhook.py" in result.stderr
        assert "on_success= must be a list of functions" in result.stderr
        assert "Fix: e.g. @exit_hook(on_success=[notify]" in result.stderr
    assert not (run_flow.root / "BadHookFlow").exists()


def test_exit_hook_is_a_registered_flow_decorator_importable_from_flowkit():
    import flowkit

    assert step_decorators().get("flow", "exit_hook") is ExitHookDecorator
    assert flowkit.exit_hook.__name__ == "exit_hook"
    assert "exit_hook" in flowkit.__all__
