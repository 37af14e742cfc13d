"""``flowkit runs|show|dump|logs|flows|tag`` and ``python flow.py logs|dump``.

Through click's test runner (``--json`` parsed back), through the CLI's edge for error messages
and exit codes, and once each as a real subprocess.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flowtests import FLOWS, SHAPE_CASES

from flowkit import FlowSpec, Parameter, step
from flowkit.cli.flow_cli import FlowCLIState, _build_group
from flowkit.cli.main import cli, main

LINEAR = SHAPE_CASES["linear"].file


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def invoke_json(*args: str) -> object:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def edge(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str):
    """Run ``flowkit ARGS`` through the real entry point: (exit code, stderr)."""
    monkeypatch.setattr(sys, "argv", ["flowkit", *args])
    with pytest.raises(SystemExit) as info:
        main()
    return info.value.code, capsys.readouterr().err


# -- flows and runs ------------------------------------------------------------------------


def test_flows(recorded: Path) -> None:
    names = invoke_json("flows")
    assert names == sorted(names) and {"LinearFlow", "CrashFlow"} <= set(names)
    assert "LinearFlow" in invoke("flows").stdout


def test_runs_table(recorded: Path) -> None:
    lines = invoke("runs", "LinearFlow").stdout.splitlines()
    assert lines[0].split() == [
        "RUN",
        "STATUS",
        "STARTED",
        "DURATION",
        "USER",
        "TAGS",
        "PARAMETERS",
    ]
    assert lines[1].split()[:2] == ["2", "succeeded"]
    assert "bob" in lines[1] and "prod" in lines[1] and "alpha=3" in lines[1]
    assert lines[2].split()[0] == "1" and "alpha=2" in lines[2]
    limited = invoke("runs", "LinearFlow", "--limit", "1").stdout
    assert "(the latest 1 runs; --limit 0 shows all)" in limited
    assert "No runs match." in invoke("runs", "LinearFlow", "--tag", "nope").stdout


def test_runs_json(recorded: Path) -> None:
    runs = invoke_json("runs", "LinearFlow")
    assert [r["run_id"] for r in runs] == ["2", "1"]
    assert runs[0]["parameters"] == {"alpha": 3} and runs[0]["tags"] == ["prod", "user:bob"]
    assert [r["run_id"] for r in invoke_json("runs", "LinearFlow", "--tag", "prod")] == ["2"]
    assert len(invoke_json("runs", "LinearFlow", "--limit", "1")) == 1


def test_datastore_root_option(recorded_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWKIT_DATASTORE_ROOT", "/nonexistent/elsewhere")
    runs = invoke_json("runs", "LinearFlow", "--datastore-root", str(recorded_root))
    assert len(runs) == 2


# -- show ----------------------------------------------------------------------------------


def test_show_run(recorded: Path) -> None:
    out = invoke("show", "ForeachFlow/1").stdout
    assert out.startswith("Run ForeachFlow/1: succeeded\n")
    for expected in ("user        ada", "parameters  width=4", "code        foreach.py"):
        assert expected in out
    table = out.split("\n\n", 1)[1].splitlines()
    assert [line.split()[0] for line in table] == ["STEP", "start", "work", "join", "end"]
    assert "pair (tuple," in table[2] and table[2].split()[1] == "4"


def test_show_failed_run_points_at_the_failure(recorded: Path) -> None:
    out = invoke("show", "CrashFlow/1").stdout
    assert "Run CrashFlow/1: failed" in out
    assert "4 (1 failed)" in out
    assert "Failed: CrashFlow/1/work/" in out and "ValueError: bad value 42" in out
    assert "see: flowkit logs CrashFlow/1/work/" in out


def test_show_json(recorded: Path) -> None:
    data = invoke_json("show", "ForeachFlow/1")
    assert data["run"]["status"] == "succeeded"
    steps = data["steps"]
    assert [s["step"] for s in steps] == ["start", "work", "join", "end"]
    assert len(steps[1]["tasks"]) == 4 and steps[1]["produced"]["pair"]["type"] == "builtins.tuple"
    assert [t["index"] for t in steps[1]["tasks"]] == [0, 1, 2, 3]
    flow = invoke_json("show", "LinearFlow")
    assert [r["run_id"] for r in flow] == ["2", "1"]
    step = invoke_json("show", "ForeachFlow/1/work")
    assert len(step["tasks"]) == 4
    task = invoke_json("show", step["tasks"][0]["pathspec"])
    assert task["status"] == "succeeded" and "pair" in task["artifacts"]


def test_show_step_task_and_flow(recorded: Path) -> None:
    step = invoke("show", "ForeachFlow/1/work").stdout
    assert "Step ForeachFlow/1/work: 4 finished task(s)" in step
    assert "CLONED FROM" not in step
    assert [line.split()[1] for line in step.splitlines()[2:]] == ["0", "1", "2", "3"]
    task_id = step.splitlines()[2].split()[0]
    task = invoke("show", f"ForeachFlow/1/work/{task_id}").stdout
    assert "foreach index  0" in task and "pair      tuple" in task
    assert invoke("show", "LinearFlow").stdout.splitlines()[0].startswith("RUN")


# -- dump ----------------------------------------------------------------------------------


def test_dump_task(recorded: Path) -> None:
    out = invoke("dump", "LinearFlow/1/end/5").stdout
    assert out.splitlines()[0].split() == ["ARTIFACT", "TYPE", "SIZE", "VALUE"]
    assert "label     str" in out and "'x=4'" in out
    whole = invoke("dump", "LinearFlow/1/end/5", "--artifact", "result").stdout
    assert whole.strip() == "{'x': 4, 'seen': [2, 4], 'label': 'x=4', 'alpha': 2}"
    two = invoke("dump", "LinearFlow/1/end/5", "--artifact", "x", "--artifact", "label").stdout
    assert two.splitlines() == ["x = 4", "label = 'x=4'"]


def test_dump_json_and_large_artifacts(recorded: Path) -> None:
    data = invoke_json("dump", "LinearFlow/1/end/5")
    assert data["artifacts"]["result"]["value"]["seen"] == [2, 4]
    assert data["artifacts"]["result"]["loaded"] is True
    small = invoke_json("dump", "LinearFlow/1/end/5", "--max-size", "30")
    assert small["artifacts"]["result"] | {"value": None} == small["artifacts"]["result"]
    assert small["artifacts"]["result"]["loaded"] is False
    assert small["artifacts"]["x"]["value"] == 4
    text = invoke("dump", "LinearFlow/1/end/5", "--max-size", "30").stdout
    assert "(not loaded: " in text and "use --artifact result)" in text


def test_dump_step(recorded: Path) -> None:
    data = invoke_json("dump", "ForeachFlow/1/work", "--artifact", "pair")
    assert [t["artifacts"]["pair"]["value"] for t in data["tasks"]] == [
        [0, 0],
        [1, 10],
        [2, 20],
        [3, 30],
    ]
    out = invoke("dump", "ForeachFlow/1/work", "--artifact", "pair").stdout
    assert out.count("==> ForeachFlow/1/work/") == 4 and "(1, 10)" in out


def test_dump_of_a_failed_task(recorded: Path) -> None:
    step = invoke_json("show", "CrashFlow/1/work")
    [failed] = [t for t in step["tasks"] if t["status"] == "failed"]
    assert "(no artifacts)" in invoke("dump", failed["pathspec"]).stdout
    assert failed["exception"]["message"] == "bad value 42"


# -- logs ----------------------------------------------------------------------------------


def test_logs(recorded: Path) -> None:
    result = invoke("logs", "LinearFlow/1/end/5")
    assert result.stdout.startswith("result {'x': 4") and result.stderr == ""
    step = invoke("logs", "CrashFlow/1/work")
    assert step.stdout.count("==> CrashFlow/1/work/") == 4
    assert "(failed) <==" in step.stdout
    assert "ValueError: bad value 42" in step.stderr
    only_out = invoke("logs", "CrashFlow/1/work", "--stdout")
    assert only_out.stderr == ""


def test_logs_json(recorded: Path) -> None:
    step = invoke_json("logs", "CrashFlow/1/work")
    failed = [t for t in step["tasks"] if "Traceback" in t["stderr"]]
    assert len(failed) == 1 and failed[0]["attempt"] == 0
    task = invoke_json("logs", "LinearFlow/1/end/5", "--stderr")
    assert set(task) == {"pathspec", "attempt", "stderr"}


# -- tags ----------------------------------------------------------------------------------


def test_tag_add_and_remove(recorded_root: Path, tmp_path: Path, monkeypatch) -> None:
    copy = tmp_path / "ds"
    shutil.copytree(recorded_root, copy)
    monkeypatch.setenv("FLOWKIT_DATASTORE_ROOT", str(copy))
    assert invoke("tag", "add", "LinearFlow/1", "reviewed", "gold").stdout == (
        "LinearFlow/1 tags: gold, reviewed, user:ada\n"
    )
    data = invoke_json("tag", "remove", "LinearFlow/1", "gold")
    assert data == {"pathspec": "LinearFlow/1", "tags": ["reviewed", "user:ada"]}
    assert [r["run_id"] for r in invoke_json("runs", "LinearFlow", "--tag", "reviewed")] == ["1"]


# -- errors, through the real entry point ----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (("runs", "LinearFlw"), 1, "unknown flow: no run of a flow named 'LinearFlw'"),
        (("show", "LinearFlow/9"), 1, "not found: the flow LinearFlow has no run '9'"),
        (("logs", "LinearFlow/1/ennd"), 1, 'Did you mean "end"?'),
        (("dump", "LinearFlow/1/end/5", "--artifact", "reslt"), 1, 'Did you mean "result"?'),
        (("dump", "LinearFlow/1"), 2, "'LinearFlow/1' names a run; name a step or a task"),
        (("show", "LinearFlow/1/end/5/x"), 2, "flowkit dump LinearFlow/1/end/5 --artifact x"),
        (("show", "a//b"), 2, "is not a pathspec"),
        (("tag", "add", "LinearFlow/1", "user:eve"), 2, "is a system tag"),
    ],
)
def test_error_messages(recorded, capsys, monkeypatch, args, code, expected) -> None:
    exit_code, err = edge(capsys, monkeypatch, *args)
    assert exit_code == code
    assert err.startswith("flowkit: ")
    assert expected in err
    assert "Traceback" not in err


def test_missing_datastore_root(tmp_path, capsys, monkeypatch) -> None:
    exit_code, err = edge(
        capsys, monkeypatch, "runs", "X", "--datastore-root", str(tmp_path / "no")
    )
    assert exit_code == 1
    assert "there is no datastore at" in err and "chosen with --datastore-root" in err


# -- the flow file's `logs` and `dump` ---------------------------------------------------------


class LinearFlow(FlowSpec):
    """Stands in for tests/flows/shapes/linear.py: only its name matters to logs and dump."""

    alpha = Parameter("alpha", default=2)

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


def test_flow_file_logs_and_dump(recorded: Path) -> None:
    group = _build_group(FlowCLIState(LinearFlow, Path(__file__)))
    runner = CliRunner()
    logs = runner.invoke(group, ["logs", "1/end"])
    assert logs.exit_code == 0, logs.output
    assert "==> LinearFlow/1/end/5 (succeeded) <==" in logs.stdout and "result {" in logs.stdout
    dumped = runner.invoke(group, ["dump", "2/end/5", "--artifact", "alpha", "--json"])
    assert json.loads(dumped.stdout)["artifacts"]["alpha"]["value"] == 3
    full = runner.invoke(group, ["dump", "LinearFlow/1/end/5", "--artifact", "x"])
    assert full.stdout.strip() == "4"


def test_flow_file_datastore_root_flag(recorded_root: Path, monkeypatch) -> None:
    monkeypatch.setenv("FLOWKIT_DATASTORE_ROOT", "/nonexistent/elsewhere")
    group = _build_group(FlowCLIState(LinearFlow, Path(__file__)))
    result = CliRunner().invoke(
        group, ["--datastore-root", str(recorded_root), "logs", "2/end/5", "--json"]
    )
    assert json.loads(result.stdout)["stdout"].startswith("result ")


# -- real subprocesses -----------------------------------------------------------------------


def _flowkit_command() -> list[str]:
    found = shutil.which("flowkit")
    return [found] if found else [sys.executable, "-c", "from flowkit.cli.main import main; main()"]


def test_flowkit_runs_as_a_subprocess(recorded: Path) -> None:
    proc = subprocess.run(
        [*_flowkit_command(), "runs", "LinearFlow", "--json"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert [r["run_id"] for r in json.loads(proc.stdout)] == ["2", "1"]
    missing = subprocess.run([*_flowkit_command(), "runs", "Nope"], capture_output=True, text=True)
    assert missing.returncode == 1 and "unknown flow" in missing.stderr


def test_flow_file_commands_as_subprocesses(run_flow, recorded_root: Path) -> None:
    run_flow.env["FLOWKIT_DATASTORE_ROOT"] = str(recorded_root)
    logs = run_flow(LINEAR, "logs", "1/end")
    assert logs.returncode == 0, logs.output
    assert "result {'x': 4" in logs.stdout
    dumped = run_flow(LINEAR, "dump", "1/end", "--json")
    assert dumped.returncode == 0, dumped.output
    assert json.loads(dumped.stdout)["tasks"][0]["artifacts"]["x"]["value"] == 4
    crash = run_flow(FLOWS / "failing" / "crashes.py", "logs", "1/work", "--stderr")
    assert "ValueError: bad value 42" in crash.stderr
    wrong = run_flow(LINEAR, "logs", "1/ennd")
    assert wrong.returncode == 1 and 'Did you mean "end"?' in wrong.stderr
