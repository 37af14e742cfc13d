"""The Deployer's plugin-independent parts: options, lookups and its errors.

The orchestrators' own tests (tests/sfn, tests/airflow) deploy and trigger for real.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowkit import Deployer
from flowkit.extend import DeployerError, DeployerImpl, option_args
from flowkit.registry import PluginError, registry


def test_option_args_spell_keywords_as_cli_options() -> None:
    args = option_args({"max_workers": 4, "only_json": True, "dry": False, "tag": ["a", "b"]})
    assert args == ["--max-workers", "4", "--only-json", "--tag", "a", "--tag", "b"]


def test_option_args_take_the_runners_flag_table() -> None:
    flags = {"tags": "--tag", "decospecs": "--with", "debug": "--debug", "alpha": "--alpha"}
    given = {"tags": ("x", "y"), "decospecs": ["retry"], "debug": None, "alpha": {"k": 1}}
    args = option_args(given, flags)
    assert args == ["--tag", "x", "--tag", "y", "--with", "retry", "--alpha", '{"k": 1}']


def test_missing_flow_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeployerError, match="no flow file"):
        Deployer(tmp_path / "nope.py")


def test_profiles_are_refused(tmp_path: Path) -> None:
    flow = tmp_path / "flow.py"
    flow.write_text("")
    with pytest.raises(DeployerError, match="profiles"):
        Deployer(flow, profile="prod")


def test_unknown_orchestrator_says_what_exists(tmp_path: Path) -> None:
    flow = tmp_path / "flow.py"
    flow.write_text("")
    with pytest.raises(AttributeError, match="no orchestrator 'kubernetes'"):
        Deployer(flow).kubernetes()


def test_a_registered_deployer_is_found_and_bound(tmp_path: Path) -> None:
    class Echo(DeployerImpl):
        TYPE = "echo-deploy"

    flow = tmp_path / "flow.py"
    flow.write_text("")
    registry().register("deployer", "echo-deploy", Echo)
    try:
        impl = Deployer(flow, datastore_root="/x").echo_deploy(name="n")
        assert isinstance(impl, Echo)
        assert impl.argv("create")[2:] == [
            "--datastore-root",
            "/x",
            "echo-deploy",
            "--name",
            "n",
            "create",
        ]
    finally:
        del registry()._builtin["deployer"]["echo-deploy"]


def test_a_registered_object_that_is_no_deployer_is_refused(tmp_path: Path) -> None:
    flow = tmp_path / "flow.py"
    flow.write_text("")
    registry().register("deployer", "bogus", object)
    try:
        with pytest.raises(PluginError, match="not a DeployerImpl"):
            Deployer(flow).impl("bogus")
    finally:
        del registry()._builtin["deployer"]["bogus"]
