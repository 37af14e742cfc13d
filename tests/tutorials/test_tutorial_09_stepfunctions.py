"""Episode 09 runs the way its README says, against the local fake AWS (tests/fakesfn.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fakesfn import SfnEnv, client_run, wait_execution
from flowtests import FlowRunner

EPISODE = Path(__file__).resolve().parents[2] / "tutorials" / "09-step-functions"


def test_tutorial_09_stepfunctions(sfn_env: SfnEnv, tmp_path: Path) -> None:
    runner = FlowRunner(tmp_path / "unused", EPISODE)
    readme = (EPISODE / "README.md").read_text()
    commands = re.findall(r"^python report\.py (step-functions [^#\n]*?)\s*(?:#.*)?$", readme, re.M)
    assert len(commands) == 7, commands

    def sfn(line: str):
        args = line.split()
        if "sfn-..." in args:
            args[args.index("sfn-...")] = run_id
        result = runner(EPISODE / "report.py", *args, timeout=120, **sfn_env.env)
        assert result.returncode == 0, result.output
        return result

    machine = json.loads(sfn(commands[0]).stdout)
    assert machine["StartAt"] == "flowkit-input"
    assert "states:CreateStateMachine" in sfn(commands[1]).stdout
    assert "nothing changed" in sfn(commands[2]).stdout
    run_id = sfn(commands[3]).stdout.strip()
    assert run_id.startswith("sfn-")
    assert run_id in sfn(commands[4]).stdout
    assert wait_execution(sfn_env, "RegionReportFlow", run_id)["status"] == "SUCCEEDED"
    assert "SUCCEEDED" in sfn(commands[5]).stdout
    run = client_run(sfn_env, f"RegionReportFlow/{run_id}")
    assert run.data.totals == {"north": 30, "south": 30, "west": 24}
    assert len(run["add_up"].tasks()) == 3
    local = FlowRunner(tmp_path / "local", EPISODE)(EPISODE / "report.py", "run", "--days", "3")
    assert "'north': 30, 'south': 30, 'west': 24" in local.stdout
    # the client line of the README, as written
    [client_line] = re.findall(r'^python -c "(.*)"$', readme, re.M)
    import subprocess
    import sys

    read = subprocess.run(
        [sys.executable, "-c", client_line],
        cwd=EPISODE,
        env=sfn_env.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "{'north': 30, 'south': 30, 'west': 24}"
    sfn(commands[6])
    names = [m["name"] for m in sfn_env.fake.sfn.list_state_machines()["stateMachines"]]
    assert "RegionReportFlow" not in names
