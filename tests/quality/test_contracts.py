"""The import contracts of ``[tool.importlinter]`` (pyproject.toml) hold, checked by the tool.

``lint-imports`` sees every import (module level, inside functions, under ``TYPE_CHECKING``)
and every module, so a lazy back-edge or a new package cannot slip past a hand-kept list.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# the console script `lint-imports`, run by this interpreter (whatever is first on PATH)
LINT = (
    "import sys; from importlinter.cli import lint_imports_command; "
    "sys.exit(lint_imports_command())"
)


def _lint(project: Path) -> subprocess.CompletedProcess[str]:
    # the project's own flowkit, not an installed one; --no-cache: nothing left in the tree
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(project), os.environ.get("PYTHONPATH", "")])
    )
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", "--no-logo"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )


def test_import_contracts_are_kept():
    proc = _lint(ROOT)
    print(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout
    assert "flowkit's layers import only downwards KEPT" in proc.stdout


def test_a_lazy_upward_import_breaks_the_layers(tmp_path):
    # the same contracts on a copy of the package whose DSL reaches up to the CLI in a function
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(
        ROOT / "flowkit", tmp_path / "flowkit", ignore=shutil.ignore_patterns("__pycache__")
    )
    with open(tmp_path / "flowkit" / "dsl" / "step.py", "a") as module:
        module.write("\n\ndef _later():\n    from flowkit.cli.flow_cli import run_flow_cli\n")
    proc = _lint(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "flowkit.dsl.step -> flowkit.cli.flow_cli" in proc.stdout
    assert "layers import only downwards BROKEN" in proc.stdout


def test_a_new_package_must_be_given_a_layer(tmp_path):
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(
        ROOT / "flowkit", tmp_path / "flowkit", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "flowkit" / "scheduling_helpers.py").write_text('"""Nowhere in the layers."""\n')
    proc = _lint(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "flowkit.scheduling_helpers" in proc.stdout + proc.stderr
