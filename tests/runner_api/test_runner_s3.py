"""``Runner`` with the datastore on S3 (moto on 127.0.0.1): the handle's ``Run`` is read from
the bucket the run wrote to."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from flowtests import FLOWS
from s3servers import S3Server

from flowkit import Runner

COUNTING = FLOWS / "runner" / "counting.py"


def test_runner_on_s3(moto_s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in moto_s3.aws_variables().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    prefix = f"runner-{uuid.uuid4().hex[:12]}"
    url = moto_s3.url(prefix)
    try:
        runner = Runner(COUNTING, show_output=False, cwd=tmp_path, datastore_root=url)
        with runner.run(ratio=0.75) as running:
            assert running.status == "successful", running.stderr
            assert running.run is not None
            assert running.run.data.echo["ratio"] == 0.75
            assert running.run["start"].task.data.echo["ratio"] == 0.75  # type: ignore[union-attr]
        assert not (tmp_path / ".flowkit").exists()  # nothing went to a local datastore
    finally:
        moto_s3.clear(prefix)
