"""Episodes 01 (parameters, IncludeFile) and 02 (foreach) run the way their READMEs say."""

from __future__ import annotations

from pathlib import Path

from flowtests import end_artifact

TUTORIALS = Path(__file__).resolve().parents[2] / "tutorials"


def test_tutorial_01_parameters(run_flow):
    flow = TUTORIALS / "01-parameters" / "params.py"
    table = str(TUTORIALS / "01-parameters" / "penguins.csv")
    result = run_flow(flow, "run", "--table", table)
    assert result.returncode == 0, result.output
    assert "kept 13 of 13 penguins" in result.stdout
    filtered = run_flow(
        flow, "run", "--table", table, "--min-mass", "4000", "--species", "Gentoo", "--verbose"
    )
    assert filtered.returncode == 0, filtered.output
    assert "kept 4 of 13 penguins" in filtered.stdout
    means = end_artifact(run_flow.store("PenguinFilterFlow"), "2", "means")
    assert means == {"bill_length_mm": 48.83, "body_mass_g": 5050.0}
    record = run_flow.store("PenguinFilterFlow").run_record("2")
    assert record.parameter_values["species"] == "'Gentoo'"
    refused = run_flow(flow, "run", "--table", table, "--min-mass", "heavy")
    assert refused.returncode == 2
    assert "parameter --min-mass expects int, got 'heavy'" in refused.stderr


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
