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
# what the `lint-imports` console script runs, in this interpreter (not whichever is on PATH)
LINT = (
    "import sys; from importlinter.cli import lint_imports_command; "
    "sys.exit(lint_imports_command())"
)


def _lint(project: Path) -> subprocess.CompletedProcess[str]:
    # The project's own packages, not installed ones: flowkit, and the first-party plugins'
    # packages under plugins/ (for a contract on them). --no-cache: nothing left in the tree.
    paths = [str(project), str(project / "plugins"), os.environ.get("PYTHONPATH", "")]
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", "--no-logo"],
        cwd=project,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(paths)),
        capture_output=True,
        text=True,
    )


def _copy(project: Path) -> None:
    """The package, its plugins and its contracts, copied to ``project``."""
    shutil.copy(ROOT / "pyproject.toml", project)
    for folder in ("flowkit", "plugins"):
        shutil.copytree(
            ROOT / folder, project / folder, ignore=shutil.ignore_patterns("__pycache__")
        )


def test_import_contracts_are_kept():
    proc = _lint(ROOT)
    print(proc.stdout, proc.stderr)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout
    assert "flowkit's layers import only downwards KEPT" in proc.stdout


def test_a_lazy_upward_import_breaks_the_layers(tmp_path):
    # the same contracts on a copy of the package whose DSL reaches up to the CLI in a function
    _copy(tmp_path)
    with open(tmp_path / "flowkit" / "dsl" / "step.py", "a") as module:
        module.write("\n\ndef _later():\n    from flowkit.cli.flow_cli import run_flow_cli\n")
    proc = _lint(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "flowkit.dsl.step -> flowkit.cli.flow_cli" in proc.stdout
    assert "layers import only downwards BROKEN" in proc.stdout


def test_a_new_package_must_be_given_a_layer(tmp_path):
    _copy(tmp_path)
    (tmp_path / "flowkit" / "scheduling_helpers.py").write_text('"""Nowhere in the layers."""\n')
    proc = _lint(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "flowkit.scheduling_helpers" in proc.stdout + proc.stderr


def test_a_plugin_reaching_past_extend_breaks_its_contract(tmp_path):
    # the first-party Batch plugin may use flowkit.extend only; a direct runtime import is caught
    _copy(tmp_path)
    with open(tmp_path / "plugins" / "flowkit_batch" / "jobs.py", "a") as module:
        module.write("\n\ndef _later():\n    from flowkit.runtime import runner\n")
    proc = _lint(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "first-party plugins reach flowkit only through flowkit.extend BROKEN" in proc.stdout
