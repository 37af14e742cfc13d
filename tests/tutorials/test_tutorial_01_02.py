"""Episodes 01 (parameters, IncludeFile) and 02 (foreach) run the way their READMEs say."""

from __future__ import annotations

import shlex
from pathlib import Path

from flowtests import FlowRunner, end_artifact

TUTORIALS = Path(__file__).resolve().parents[2] / "tutorials"


def _readme_commands(readme: Path) -> list[list[str]]:
    """The ``python ...`` commands of the README's bash block, continuations joined."""
    block = readme.read_text().split("```bash\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "python":
            commands.append(words[1:])
    return commands


def test_tutorial_01_readme_commands_work_from_the_repository_root(run_flow):
    folder = TUTORIALS / "01-parameters"
    runner = FlowRunner(run_flow.root, TUTORIALS.parent)  # the README's current folder
    commands = _readme_commands(folder / "README.md")
    assert len(commands) == 4
    first, filtered, helped, refused = (runner(*c) for c in commands)
    assert first.returncode == 0, first.output
    assert "kept 13 of 13 penguins" in first.stdout
    assert filtered.returncode == 0, filtered.output
    assert "kept 4 of 13 penguins" in filtered.stdout
    means = end_artifact(run_flow.store("PenguinFilterFlow"), "2", "means")
    assert means == {"bill_length_mm": 48.83, "body_mass_g": 5050.0}
    record = run_flow.store("PenguinFilterFlow").run_record("2")
    assert record.parameter_values["species"] == "'Gentoo'"
    assert helped.returncode == 0 and "--min-mass" in helped.stdout
    assert refused.returncode == 2
    assert "parameter --min-mass expects int, got 'heavy'" in refused.stderr
    assert [r.strip() for r in runner.store("PenguinFilterFlow").run_ids()] == ["1", "2"]


def test_tutorial_01_runs_from_its_own_folder(run_flow):
    folder = TUTORIALS / "01-parameters"
    result = FlowRunner(run_flow.root, folder)("params.py", "run")
    assert result.returncode == 0, result.output
    assert "kept 13 of 13 penguins" in result.stdout


def test_tutorial_02_foreach(run_flow):
    flow = TUTORIALS / "02-foreach" / "groups.py"
    result = run_flow(flow, "run")
    assert result.returncode == 0, result.output
    table = end_artifact(run_flow.store("GroupStatsFlow"), "1", "table")
    assert list(table.index) == ["east", "north", "south", "west"]
    assert int(table.orders.sum()) == 10_000
    assert result.stdout.count("/stats/") == 4
    data = run_flow.root / "GroupStatsFlow" / "data"
    before = {p.name for p in data.rglob("*") if p.is_file()}
    assert run_flow(flow, "run").returncode == 0
    assert {p.name for p in data.rglob("*") if p.is_file()} == before
