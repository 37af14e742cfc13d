"""Write the golden datastore ``tests/golden/v1/`` with this flowkit; rerun after a format change.

Usage (from the repository root, with the flowkit to record importable)::

    python tests/golden/make_golden.py

What it writes, with ``flow.py`` of this folder (``GoldenFlow``: linear, branch and foreach
steps, artifacts of several types, printed logs):

1. run 1, tagged ``golden``: the last split of ``work`` fails, so the run fails and is resumable;
2. run 2: ``resume`` of run 1, which succeeds (its early tasks are clones of run 1's);
3. the tag ``reviewed`` added to run 2 afterwards (a tag change recorded after the run);
4. ``v1/golden.json``: what the test may rely on (run ids, tags, expected values), so the
   test never hard-codes more than this script wrote.

The runs happen in a fixed folder under the temporary directory, with a fixed user name, so
rerunning gives the same ids and layout (times differ). Paths of that folder appear only in
texts (the flow file of a run record, tracebacks), never in anything a reader relies on.

Format 1 of the datastore is frozen: a change that later flowkit versions can no longer read is
a new major format, recorded as a new folder (``v2/``) beside this one, never by overwriting it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "v1"
FLOW = "GoldenFlow"
REPOSITORY = HERE.parents[1]


def _env(root: Path, **extra: str) -> dict[str, str]:
    # The user's own flowkit settings must not leak into the recorded data.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWKIT_")}
    path = os.pathsep.join(filter(None, [str(REPOSITORY), env.get("PYTHONPATH", "")]))
    env.update(
        PYTHONPATH=path,
        FLOWKIT_DATASTORE_ROOT=str(root),
        FLOWKIT_USER="golden",
        FLOWKIT_CONFIG=str(root.parent / "no-config.json"),
        PYTHONHASHSEED="0",
    )
    env.pop("GOLDEN_FAIL", None)
    env.update(extra)
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str], expect_ok: bool) -> None:
    proc = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    if (proc.returncode == 0) != expect_ok:
        raise SystemExit(
            f"{' '.join(args)} exited with {proc.returncode}, expected "
            f"{'success' if expect_ok else 'failure'}:\n{proc.stdout}{proc.stderr}"
        )


def make(out: Path = OUT) -> Path:
    """Record the golden datastore into ``out`` (replaced) and return it."""
    from flowkit import __version__
    from flowkit.datastore.format import FORMAT_VERSION

    work = Path(tempfile.gettempdir()) / "flowkit-golden"
    shutil.rmtree(work, ignore_errors=True)
    code = work / "code"
    root = work / "datastore"
    code.mkdir(parents=True)
    shutil.copy(HERE / "flow.py", code / "flow.py")
    try:
        # one worker: the splits run in order, so the last one fails after the others succeeded
        # and every regeneration records the same tasks
        first = ["flow.py", "run", "--tag", "golden", "--max-workers", "1"]
        _run(first, code, _env(root, GOLDEN_FAIL="1"), False)
        _run(["flow.py", "resume", "--origin-run-id", "1"], code, _env(root), True)
        cli = ["-c", "from flowkit.cli.main import main; main()"]
        _run([*cli, "tag", "add", f"{FLOW}/2", "reviewed"], code, _env(root), True)
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(root, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    facts = {
        "flow": FLOW,
        "written_by": __version__,
        "format_version": FORMAT_VERSION,
        "failed_run": "1",
        "resumed_run": "2",
        "failed_step": "work",
        "failed_input": "c",
        "failure": {"kind": "exception", "type": "ValueError"},
        "tags": {"1": ["golden"], "2": ["reviewed"]},
        "steps": ["start", "left", "right", "join", "fan", "work", "gather", "end"],
        "parameters": {"alpha": 3},
        "artifacts": {
            "start": {
                "numbers": [1, 2, 3],
                "config": {"name": "golden", "nested": {"ok": True, "ratio": 0.5}},
                "nothing": None,
            },
            "gather": {"uppers": ["A", "B", "C"]},
            "end": {"total": 9},
        },
        "logs": {"start": "start: hello from the golden flow"},
    }
    (out / "golden.json").write_text(json.dumps(facts, indent=2, sort_keys=True) + "\n")
    return out


if __name__ == "__main__":
    written = make()
    files = [p for p in written.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"wrote {written} ({len(files)} files, {size / 1024:.1f} KiB)")
