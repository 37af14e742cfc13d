"""``run`` with an untidy project folder, and ``flowkit show RUN --code``, through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flowtests import SHAPES

CLI = "from flowkit.cli.main import main; main()"


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "linear.py").write_text((SHAPES / "linear.py").read_text())
    (root / "_probe.py").write_text((SHAPES / "_probe.py").read_text())
    (root / "broken.py").symlink_to(tmp_path / "gone.py")
    (tmp_path / "outside.py").write_text("x = 1\n")
    (root / "outside_link.py").symlink_to(tmp_path / "outside.py")
    (root / "build" / "lib").mkdir(parents=True)
    (root / "build" / "lib" / "copy.py").write_text("x = 1\n")
    (root / "venv").mkdir()
    (root / "venv" / "pyvenv.cfg").write_text("home = /usr\n")
    (root / "venv" / "mod.py").write_text("x = 1\n")
    (root / "notes.py").write_text("x = 1\n")
    (root / ".flowkitignore").write_text("notes.py\n")
    return root


def _cli(run_flow, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args],
        capture_output=True,
        text=True,
        env=run_flow.env,
        cwd=cwd,
    )


def test_run_skips_what_is_not_the_project_and_show_code_lists_it(run_flow, tmp_path):
    root = _project(tmp_path)
    result = run_flow(root / "linear.py", "run")
    assert result.returncode == 0, result.output
    assert "skipped broken.py from the code snapshot: a broken link" in result.stderr
    assert "outside_link.py" in result.stderr

    shown = _cli(run_flow, tmp_path, "show", "LinearFlow/1", "--code")
    assert shown.returncode == 0, shown.stderr
    listed = [line.split()[-1] for line in shown.stdout.splitlines()[1:-1]]
    assert listed == ["_probe.py", "linear.py"]
    size = (root / "linear.py").stat().st_size
    assert f"{size:,}  linear.py" in shown.stdout

    as_json = json.loads(
        _cli(run_flow, tmp_path, "show", "LinearFlow/1", "--code", "--json").stdout
    )
    assert {"path": "linear.py", "size": size} in as_json["files"]

    wrong = _cli(run_flow, tmp_path, "show", "LinearFlow/1/start", "--code")
    assert wrong.returncode != 0 and "names a step" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_a_snapshot_above_the_limit_stops_the_run_with_a_fix(run_flow, tmp_path):
    root = _project(tmp_path)
    (root / "big_table.py").write_text("x = 1\n" * 200_000)  # 1.2 MB
    result = run_flow(root / "linear.py", "run", FLOWKIT_CODE_MAX_MB="1")
    assert result.returncode != 0
    assert "more than the limit of 1 MiB" in result.stderr
    assert "big_table.py" in result.stderr and "FLOWKIT_CODE_MAX_MB" in result.stderr
    assert "Traceback" not in result.stderr
