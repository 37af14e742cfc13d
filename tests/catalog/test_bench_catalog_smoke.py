"""benchmarks/bench_catalog.py runs end to end (tiny table): servers up, every case measured,
servers down, medians printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_catalog.py"


def test_bench_catalog_runs_with_a_tiny_table(tmp_path):
    out = tmp_path / "medians.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows", "500", "--repeat", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    medians = json.loads(out.read_text())
    assert set(medians) == {
        f"{kind} {op} {how}"
        for kind in ("pg", "s3")
        for op in ("load", "save")
        for how in ("pandas", "catalog")
    }
    assert all(m["seconds"] > 0 for m in medians.values())
    assert "500 rows, medians of 1" in done.stdout
