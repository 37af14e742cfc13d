"""ruff and mypy, configured in pyproject.toml, are clean on the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_clean():
    # a missing ruff is a failure, not a skip: the dev extra installs it
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "flowkit", "plugins", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_clean():
    proc = subprocess.run(
        # the packages come from pyproject.toml: flowkit, and flowkit_batch under plugins/
        [sys.executable, "-m", "mypy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
