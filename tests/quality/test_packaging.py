"""``pip install .`` (not editable) gives a working ``from flowkit import batch``.

The repository is copied (its packaging inputs only) and installed with ``--target`` into a
temporary folder, then imported from there in a fresh interpreter, so the test sees what a
user's site-packages holds: no top-level ``plugins`` package, ``flowkit_batch`` next to
``flowkit``, and the entry points that make ``from flowkit import batch`` work.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("install")
    source = work / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for folder in ("flowkit", "plugins"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    site = work / "site"
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"),
            *("--target", str(site), str(source)),
        ],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(source)  # only the installed files stay, until pytest removes the temp dir
    return site


def _python(site: Path, code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWKIT_")}
    env["PYTHONPATH"] = str(site)  # the installed copy only, not this checkout
    return subprocess.run(
        [sys.executable, *flags, "-c", code],
        cwd=site.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_install_has_no_top_level_plugins_package(installed):
    assert (installed / "flowkit" / "extend.py").is_file()
    assert (installed / "flowkit_batch" / "bootstrap.py").is_file()
    assert not (installed / "plugins").exists()
    [info] = installed.glob("flowkit-*.dist-info")
    entry_points = (info / "entry_points.txt").read_text()
    assert "step.batch = flowkit_batch.decorator:BatchDecorator [aws]" in entry_points


def test_from_flowkit_import_batch_in_a_regular_install(installed):
    code = (
        "import flowkit, flowkit_batch\n"
        "from flowkit import batch\n"
        "print(flowkit.__file__)\n"
        "print(flowkit_batch.__file__)\n"
        "print(batch.decorator_class is flowkit_batch.BatchDecorator)\n"
        "import flowkit_batch.bootstrap\n"
    )
    out = _python(installed, code)
    assert out.returncode == 0, out.stderr
    flowkit_file, batch_file, same = out.stdout.split()
    assert Path(flowkit_file).is_relative_to(installed)
    assert Path(batch_file).is_relative_to(installed)
    assert same == "True"


def test_batch_without_its_extra_says_what_to_install(installed):
    # -S: no site-packages, so boto3 and s3fs (the [aws] extra) are not installed
    code = "try:\n    from flowkit import batch\nexcept ImportError as exc:\n    print(exc)\n"
    out = _python(installed, code, "-S")
    assert out.returncode == 0, out.stderr
    assert "the step decorator 'batch' needs" in out.stdout
    assert "boto3" in out.stdout
    assert "pip install 'flowkit[aws]'" in out.stdout
