"""Episode 06 runs the way its README says, against moto's S3 on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

EPISODE = Path(__file__).resolve().parents[2] / "tutorials" / "06-s3"


def test_tutorial_06_s3(moto_s3, tmp_path):
    env = moto_s3.env()
    env["FLOWKIT_DATASTORE_ROOT"] = moto_s3.url(f"tutorial-06-{uuid.uuid4().hex[:8]}")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    trained = run(str(EPISODE / "train.py"), "run")
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert "model {'slope': 2.0, 'intercept': 1.0} stored in s3://" in trained.stdout
    used = run(str(EPISODE / "use_model.py"))
    assert used.returncode == 0, used.stdout + used.stderr
    assert "using SharedTrainFlow/1 by " in used.stdout
    assert "y = 2.0x + 1.0" in used.stdout
    assert "prediction for x=10: 21.0" in used.stdout
    assert not (tmp_path / ".flowkit").exists()  # nothing went to a local datastore
