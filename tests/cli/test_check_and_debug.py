"""``flowkit check`` on broken files, and ``--debug`` / ``FLOWKIT_DEBUG`` on both commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flowtests import FLOWS

FLOWKIT = [sys.executable, "-c", "from flowkit.cli.main import main; main()"]
UNKNOWN_KEYWORD = FLOWS / "malformed" / "param_unknown_keyword.py"


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "FLOWKIT_DEBUG"}
    return subprocess.run(
        args, cwd=cwd, env={**environ, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.py"
    path.write_text("from flowkit import FlowSpec, step\n\n\nclass F(FlowSpec)\n    pass\n")
    return path


def test_check_reports_a_syntax_error_with_file_and_line(broken: Path) -> None:
    result = _run([*FLOWKIT, "check", "broken.py"], broken.parent)
    assert result.returncode == 2, result.stderr
    assert "broken.py:4: expected ':'" in result.stderr
    assert "Fix: correct line 4: class F(FlowSpec)" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_reports_a_syntax_error_in_an_imported_module(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def f(:\n    pass\n")
    (tmp_path / "flow.py").write_text("import helpers\n")
    result = _run([*FLOWKIT, "check", "flow.py"], tmp_path)
    assert result.returncode == 2, result.stderr
    assert "helpers.py:1:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--debug", "check", "broken.py"], {}), (["check", "broken.py"], {"FLOWKIT_DEBUG": "1"})],
)
def test_flowkit_debug_option_and_variable_show_the_traceback(broken, args, env) -> None:
    result = _run([*FLOWKIT, *args], broken.parent, **env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" in result.stderr
    assert "broken.py:4: expected ':'" in result.stderr


@pytest.mark.parametrize(
    ("args", "env"), [(["--debug", "check"], {}), (["check"], {"FLOWKIT_DEBUG": "1"})]
)
def test_flow_file_debug_option_and_variable_show_the_traceback(tmp_path, args, env) -> None:
    result = _run([sys.executable, str(UNKNOWN_KEYWORD), *args], tmp_path, **env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" in result.stderr
    assert "has no keyword 'defualt'" in result.stderr


def test_no_traceback_without_debug(tmp_path) -> None:
    result = _run([sys.executable, str(UNKNOWN_KEYWORD), "check"], tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
