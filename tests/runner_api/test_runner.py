"""``Runner``: blocking and asynchronous runs of a flow file from Python, as in Metaflow."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import pytest
from flowtests import FLOWS

from flowkit import Runner
from flowkit.errors import ParameterError
from flowkit.runner_api import RunnerError

COUNTING = FLOWS / "runner" / "counting.py"
REQUIRED = FLOWS / "runner" / "required.py"


def _leftovers() -> list[str]:
    return [p for p in os.listdir(tempfile.gettempdir()) if p.startswith("flowkit-runner-")]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "datastore"


def test_blocking_run_gives_the_finished_client_run(tmp_path: Path, root: Path) -> None:
    runner = Runner(COUNTING, False, cwd=tmp_path, datastore_root=str(root), pylint=False)
    with runner.run(
        seconds=1, ratio=0.25, loud=True, config={"a": [1, 2]}, learning_rate=0.01, tags=["t1"]
    ) as running:
        assert running.status == "successful"
        assert running.returncode == 0
        run = running.run
        assert run is not None
        assert run.pathspec == "CountingFlow/1"
        assert run.successful
        assert "t1" in run.tags
        # parameters arrive typed, as from the command line
        assert run.data.echo == {
            "seconds": 1,
            "ratio": 0.25,
            "loud": True,
            "config": {"a": [1, 2]},
            "learning_rate": 0.01,
        }
        assert "tick 4" in running.stdout
        assert "Run CountingFlow/1 succeeded" in running.stderr
        assert running.failure == ""
        assert running.failed_task is None
    assert _leftovers() == []  # the handle's log files are gone
    assert running.stdout == ""


def test_show_output_echoes_the_run(tmp_path: Path, root: Path, capfd) -> None:
    with Runner(COUNTING, cwd=tmp_path, datastore_root=str(root)).run(seconds=1) as running:
        assert running.status == "successful"
    out, err = capfd.readouterr()
    assert "tick 4" in out
    assert "Run CountingFlow/1 succeeded" in err


def test_failed_run_names_the_task_and_resume_finishes_it(tmp_path: Path, root: Path) -> None:
    failing = Runner(
        COUNTING,
        show_output=False,
        cwd=tmp_path,
        env={"COUNTING_FAIL": "1"},
        datastore_root=str(root),
    )
    with failing.run(seconds=0) as running:
        assert running.status == "failed"
        assert running.returncode == 1
        assert running.run is not None and running.run.status == "failed"
        task = running.failed_task
        assert task is not None and task.pathspec == "CountingFlow/1/end/2"
        assert "task CountingFlow/1/end/2 failed" in running.failure
        assert 'raise ValueError("asked to fail")' in running.failure
        assert "ValueError: asked to fail" in running.failure
    with Runner(COUNTING, show_output=False, cwd=tmp_path, datastore_root=str(root)) as runner:
        resumed = runner.resume()
        assert resumed.status == "successful"
        assert resumed.run is not None
        assert resumed.run.origin_run_id == "1"
        assert resumed.run.data.done is True
        again = runner.resume(step="start", origin_run_id="1")
        assert again.run is not None and again.run.id == "3"
    assert _leftovers() == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"secnds": 3}, "CountingFlow has no parameter 'secnds' Did you mean \"seconds\"?"),
        ({"seconds": "three"}, "run(seconds='three'): CountingFlow's parameter 'seconds' expects"),
        ({"seconds": 2.5}, "expects int"),
        ({"loud": "maybe"}, "expects bool"),
        ({"config": "{not json"}, "expects json"),
    ],
)
def test_parameters_are_checked_before_anything_runs(
    tmp_path: Path, root: Path, kwargs: dict, message: str
) -> None:
    runner = Runner(COUNTING, show_output=False, cwd=tmp_path, datastore_root=str(root))
    with pytest.raises(ParameterError) as info:
        runner.run(**kwargs)
    assert message in str(info.value)
    assert not root.exists()  # no subprocess ran: not even the datastore was created
    assert _leftovers() == []


def test_a_required_parameter_is_required(tmp_path: Path, root: Path) -> None:
    runner = Runner(REQUIRED, show_output=False, cwd=tmp_path, datastore_root=str(root))
    with pytest.raises(ParameterError, match="'seed' is required"):
        runner.run()
    with runner.run(seed="7") as running:
        assert running.run is not None and running.run.data.seed_seen == 7


def test_a_command_that_creates_no_run_raises_with_its_error(tmp_path: Path, root: Path) -> None:
    runner = Runner(COUNTING, show_output=False, cwd=tmp_path, datastore_root=str(root))
    with pytest.raises(RunnerError) as info:
        runner.run(decospecs=["nosuchdecorator"])
    assert "created no run (exit code" in str(info.value)
    assert "nosuchdecorator" in str(info.value)
    assert _leftovers() == []


def test_runner_options_are_checked(tmp_path: Path) -> None:
    with pytest.raises(RunnerError, match='Did you mean "datastore_root"'):
        Runner(COUNTING, datastore_rot="x")
    with pytest.raises(RunnerError, match="no configuration profiles"):
        Runner(COUNTING, profile="prod")
    with pytest.raises(RunnerError, match="no flow file"):
        Runner(tmp_path / "missing.py")


def test_async_run_returns_at_once_and_streams(tmp_path: Path, root: Path) -> None:
    async def scenario() -> None:
        runner = Runner(COUNTING, cwd=tmp_path, datastore_root=str(root))
        with await runner.async_run(seconds=2) as running:
            assert running.status == "running"
            assert running.run is not None
            assert running.run.status == "running"
            lines = []
            async for position, line in running.stream_log("stdout"):
                lines.append((position, line))
            ticks = [line for _, line in lines if "tick" in line]
            assert [t.split()[-1] for t in ticks] == [str(i) for i in range(10)]
            positions = [p for p, _ in lines]
            assert positions == sorted(positions)
            # a position yielded earlier resumes the stream there
            rest = [line async for _, line in running.stream_log("stdout", lines[4][0])]
            assert rest == [line for _, line in lines[5:]]
            await running.wait(timeout=60)
            assert running.status == "successful"
            assert running.run.successful

    asyncio.run(scenario())
    assert _leftovers() == []


def test_async_runs_can_be_polled_timed_out_and_killed(tmp_path: Path, root: Path, capsys) -> None:
    async def scenario() -> None:
        runner = Runner(COUNTING, cwd=tmp_path, datastore_root=str(root))
        async with await runner.async_run(seconds=60) as running:
            with pytest.raises(TimeoutError):
                await running.wait(timeout=0.3)
            assert running.status == "running"
            await running.kill()
            assert running.status == "failed"
            assert running.run is not None
            assert running.run.status == "killed"
        # two runs at once, each with its own run id
        first, second = await asyncio.gather(runner.async_run(), runner.async_run())
        async with first, second:
            await asyncio.gather(first.wait(stream="stderr"), second.wait())
            assert {first.run.id, second.run.id} == {"2", "3"}  # type: ignore[union-attr]
            assert first.status == second.status == "successful"
        # wait(stream=...) printed the first run's progress as it came
        assert f"Run CountingFlow/{first.run.id} succeeded" in capsys.readouterr().out  # type: ignore[union-attr]

    asyncio.run(scenario())
    assert _leftovers() == []


def test_async_resume(tmp_path: Path, root: Path) -> None:
    async def scenario() -> None:
        env = {"COUNTING_FAIL": "1"}
        failing = Runner(COUNTING, env=env, cwd=tmp_path, datastore_root=str(root))
        async with await failing.async_run() as running:
            await running.wait()
            assert running.status == "failed"
        runner = Runner(COUNTING, cwd=tmp_path, datastore_root=str(root))
        async with await runner.async_resume() as resumed:
            await resumed.wait()
            assert resumed.status == "successful"
            assert resumed.run is not None and resumed.run.origin_run_id == "1"

    asyncio.run(scenario())
