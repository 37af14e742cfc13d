"""Diff and reproduce with the datastore on S3 (SeaweedFS on 127.0.0.1, signatures checked):
the fresh run of a reproduction goes to the same S3 datastore as the original."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3servers import S3Server

from flowkit.client import ClientContext
from flowkit.reproduce import reproduce_run

STEADY = Path(__file__).resolve().parents[1] / "flows" / "diff" / "steady.py"


@pytest.fixture
def s3_root(seaweedfs: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh prefix of the bucket; this process and its children reach it as a user would."""
    for name, value in seaweedfs.aws_variables().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    prefix = f"diff-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("FLOWKIT_DATASTORE_ROOT", seaweedfs.url(prefix))
    yield seaweedfs.url(prefix)
    seaweedfs.clear(prefix)


def test_diff_and_reproduce_on_s3(s3_root: str, tmp_path: Path) -> None:
    for factor in ("2", "3"):
        result = subprocess.run(
            [sys.executable, str(STEADY), "run", "--factor", factor],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    context = ClientContext(s3_root)
    first, second = context.run("SteadyFlow/1"), context.run("SteadyFlow/2")
    diff = first.diff(second)
    assert [p.name for p in diff.parameters] == ["factor"]
    assert diff.first_diverged_step == "scale"
    assert diff.step("scale").artifacts["scaled"].tasks == ["scale[0]", "scale[1]"]

    outcome = reproduce_run("SteadyFlow/2", ("join", "model"), datastore_root=s3_root)
    assert outcome.matches and outcome.new_run == "SteadyFlow/3"
    fresh = context.run("SteadyFlow/3")
    assert fresh.datastore_root == first.datastore_root and fresh.successful
    assert "reproduces:SteadyFlow/2" in fresh.tags
