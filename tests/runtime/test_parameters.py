"""Parameters: types, defaults, required values, IncludeFile, and refusal before any task."""

from __future__ import annotations

import pytest
from flowtests import FLOWS, end_artifact

PARAMS = FLOWS / "params.py"


@pytest.fixture
def csv(run_flow):
    path = run_flow.cwd / "data.csv"
    path.write_text("a,b\n1,2\n")
    return path


def test_defaults_and_values(run_flow, csv):
    result = run_flow(PARAMS, "run", "--seed", "7", "--verbose", "--config", '{"k": [1, 2]}')
    assert result.returncode == 0, result.output
    store = run_flow.store("ParamFlow")
    assert end_artifact(store, "1") == {
        "count": 3,
        "ratio": 0.5,
        "label": "ParamFlow-label",
        "verbose": True,
        "config": {"k": [1, 2]},
        "seed": 7,
        "table": "a,b\n1,2\n",
    }
    record = store.run_record("1")
    assert record.parameter_values["seed"] == "7"
    assert set(record.parameters) == {
        "count",
        "ratio",
        "label",
        "verbose",
        "config",
        "seed",
        "table",
    }
    # parameters are artifacts of every task
    for manifest in store.manifests("1"):
        assert manifest.artifacts["seed"] == record.parameters["seed"]


def test_explicit_values_are_converted(run_flow, csv):
    other = run_flow.cwd / "other.csv"
    other.write_text("x\n")
    result = run_flow(
        PARAMS,
        "run",
        "--seed",
        "1",
        "--count",
        "10",
        "--ratio",
        "2",
        "--verbose",
        "false",
        "--table",
        str(other),
        "--label",
        "mine",
    )
    assert result.returncode == 0, result.output
    value = end_artifact(run_flow.store("ParamFlow"), "1")
    assert (value["count"], value["ratio"], value["verbose"], value["table"], value["label"]) == (
        10,
        2.0,
        False,
        "x\n",
        "mine",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "x"], "--seed expects int, got 'x'"),
        (["--seed", "1", "--ratio", "half"], "--ratio expects float"),
        (["--seed", "1", "--verbose", "maybe"], "--verbose expects bool"),
        (["--seed", "1", "--config", "{bad"], "--config expects json"),
        ([], "--seed is required"),
        (["--seed", "1", "--table", "missing.csv"], "missing.csv' does not exist"),
    ],
)
def test_bad_value_refused_before_any_task(run_flow, csv, args, message):
    result = run_flow(PARAMS, "run", *args)
    assert result.returncode == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (run_flow.root / "ParamFlow" / "runs").exists()


def test_help_lists_parameters(run_flow):
    result = run_flow(PARAMS, "run", "--help")
    assert result.returncode == 0
    for text in ("--count", "how many", "--seed", "required", "--table", "a csv file"):
        assert text in result.stdout
