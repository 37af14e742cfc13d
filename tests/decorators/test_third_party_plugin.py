"""A third-party plugin, installed from a fixture folder with pip, plugs in through entry points."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flowtests import FLOWS

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "flowkit_shout"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> str:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(FIXTURE),
        ],
        check=True,
        capture_output=True,
    )
    return str(target)


def _env(plugin_path: str) -> dict[str, str]:
    return {
        "PYTHONPATH": os.pathsep.join(filter(None, [plugin_path, os.environ.get("PYTHONPATH")]))
    }


def test_plugin_decorator_by_import_and_by_with(run_flow, plugin_path, tmp_path):
    flow = tmp_path / "shouting.py"
    flow.write_text(
        "from flowkit import FlowSpec, step\n"
        "from flowkit_shout import shout\n\n\n"
        "class ShoutingFlow(FlowSpec):\n"
        "    @shout(word='OI')\n"
        "    @step\n"
        "    def start(self):\n"
        "        self.next(self.end)\n\n"
        "    @step\n"
        "    def end(self):\n"
        "        pass\n\n\n"
        "if __name__ == '__main__':\n"
        "    ShoutingFlow()\n"
    )
    result = run_flow(flow, "run", **_env(plugin_path))
    assert result.returncode == 0, result.output
    assert "OI! entering start" in result.stdout
    assert "entering end" not in result.stdout
    everywhere = run_flow(flow, "run", "--with", "shout:word=YO", **_env(plugin_path))
    assert everywhere.returncode == 0, everywhere.output
    assert "OI! entering start" in everywhere.stdout  # the declared one wins on its step
    assert "YO! entering end" in everywhere.stdout


def test_plugin_command_in_the_flowkit_cli(plugin_path):
    env = dict(os.environ, **_env(plugin_path))
    listed = subprocess.run(["flowkit", "--help"], env=env, capture_output=True, text=True)
    assert "shout-hello" in listed.stdout
    said = subprocess.run(["flowkit", "shout-hello"], env=env, capture_output=True, text=True)
    assert said.returncode == 0 and said.stdout.strip() == "hello from a plugin command"


def test_missing_dependency_gives_an_install_hint(run_flow, plugin_path):
    result = run_flow(
        FLOWS / "shapes" / "linear.py", "run", "--with", "needs-missing", **_env(plugin_path)
    )
    assert result.returncode == 2, result.output
    assert "cannot be imported" in result.stderr
    assert "pip install 'flowkit-shout[extra]'" in result.stderr
