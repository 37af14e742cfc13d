"""Both ends of the supported S3 library range pass the S3 tests.

The suite itself runs the newest s3fs/aiobotocore/botocore that ``pip install -e ".[test]"``
resolves. This test installs the *lowest* allowed ones (the floors in ``pyproject.toml``, with
the exact fsspec, botocore and boto3 they pull in) into a temporary folder, puts it first on
``PYTHONPATH``, and runs the S3 conformance and backend tests against SeaweedFS and moto in a
subprocess. It downloads from the package index on first use (pip's cache serves later runs).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: The floor of the range and what pip resolves under it (boto3: for moto's server, which
#: imports botocore from the same path).
LOWEST = {
    "s3fs": "2024.12.0",
    "fsspec": "2024.12.0",
    "aiobotocore": "2.19.0",
    "botocore": "1.36.3",
    "boto3": "1.36.3",
}


def test_the_floors_in_pyproject_are_the_tested_versions() -> None:
    text = (REPO / "pyproject.toml").read_text()
    s3_extra = re.search(r"^s3 = \[(.*)\]$", text, re.MULTILINE)
    assert s3_extra is not None
    floors = dict(re.findall(r'"([a-z0-9]+)>=([0-9.]+)', s3_extra.group(1)))
    assert floors == {"s3fs": LOWEST["s3fs"], "aiobotocore": LOWEST["aiobotocore"]}


@pytest.mark.slow
def test_the_lowest_supported_versions_pass_the_s3_tests(tmp_path: Path) -> None:
    target = tmp_path / "lowest"
    try:
        install = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--no-warn-conflicts",
                "--target",
                str(target),
                *(f"{name}=={version}" for name, version in LOWEST.items()),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert install.returncode == 0, install.stderr[-3000:]
        path = [str(target), str(REPO), os.environ.get("PYTHONPATH", "")]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, path)))
        versions = subprocess.run(
            [
                sys.executable,
                "-c",
                "import s3fs, fsspec, aiobotocore, botocore, boto3; "
                "print(s3fs.__version__, fsspec.__version__, aiobotocore.__version__, "
                "botocore.__version__, boto3.__version__)",
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        assert versions.stdout.split() == list(LOWEST.values()), versions.stderr
        tests = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--basetemp",
                str(tmp_path / "inner"),
                "tests/datastore/test_storage.py",
                "tests/datastore/test_s3_backend.py",
                "-k",
                "seaweedfs or moto or claims or s3",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        summary = tests.stdout.strip().splitlines()[-1] if tests.stdout.strip() else ""
        assert tests.returncode == 0, tests.stdout[-5000:] + tests.stderr[-2000:]
        assert re.search(r"\d+ passed", summary) and "failed" not in summary, summary
    finally:
        shutil.rmtree(target, ignore_errors=True)
        shutil.rmtree(tmp_path / "inner", ignore_errors=True)
