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


def test_plugin_decorators_are_importable_from_flowkit(run_flow, plugin_path, tmp_path):
    flow = tmp_path / "announced.py"
    flow.write_text(
        "from flowkit import FlowSpec, announce, shout, step\n\n\n"
        "@announce(by='Ada')\n"
        "class AnnouncedFlow(FlowSpec):\n"
        "    @shout(word='OI')\n"
        "    @step\n"
        "    def start(self):\n"
        "        self.next(self.end)\n\n"
        "    @step\n"
        "    def end(self):\n"
        "        pass\n\n\n"
        "if __name__ == '__main__':\n"
        "    AnnouncedFlow()\n"
    )
    env = _env(plugin_path)
    result = run_flow(flow, "run", FLOWKIT_SHOUT_VOLUME="3", **env)
    assert result.returncode == 0, result.output
    assert "AnnouncedFlow announced by Ada" in result.stdout
    assert "OI!!! entering start" in result.stdout  # the plugin's setting, from the environment
    # --with before the command, as in `python flow.py --with shout run`
    before = run_flow(flow, "--with", "shout:word=YO", "run", **env)
    assert before.returncode == 0, before.output
    assert "OI! entering start" in before.stdout and "YO! entering end" in before.stdout


def test_plugin_settings_come_from_the_config_file_and_are_listed(plugin_path, tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"shout_volume": 2, "max_workers": 3}')
    env = dict(os.environ, FLOWKIT_CONFIG=str(config), **_env(plugin_path))
    env.pop("FLOWKIT_SHOUT_VOLUME", None)
    code = "from flowkit_shout import SETTINGS; print(SETTINGS.load().volume)"
    read = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert read.stdout.strip() == "2", read.stderr
    listed = subprocess.run(["flowkit", "config"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert any(line.split() == ["shout_volume", "2"] for line in listed.stdout.splitlines())
    config.write_text('{"shout_volum": 2}')  # a typo is still refused, with the plugin's names
    typo = subprocess.run(["flowkit", "config"], env=env, capture_output=True, text=True)
    assert typo.returncode != 0
    assert "unknown setting(s) shout_volum" in typo.stderr and "shout_volume" in typo.stderr


def test_missing_extra_is_an_import_error_with_an_install_hint(plugin_path):
    code = (
        "try:\n"
        "    from flowkit import needs_absent\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
        "import flowkit\n"
        "try:\n"
        "    flowkit.no_such_decorator\n"
        "except AttributeError as exc:\n"
        "    print('AttributeError', exc)\n"
    )
    env = dict(os.environ, **_env(plugin_path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "PluginImportError" in out.stdout
    assert "flowkit-shout-absent-dependency" in out.stdout
    assert "pip install 'flowkit-shout[absent]'" in out.stdout
    assert "AttributeError module 'flowkit' has no attribute 'no_such_decorator'" in out.stdout
