"""Runs recorded before the storage format was versioned (format 0) are still read and resumed.

Format 0 is made here from the golden datastore by rewriting its task manifests the way flowkit
wrote them then: no version fields, the core facts in a free-form ``extra`` dict, a failure
without a kind. (Artifact blobs of format 0 differ only by two zero bytes of their header; that
is covered in ``tests/datastore/test_format.py``.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from flowkit.client import ClientContext

HERE = Path(__file__).resolve().parent
FACTS = json.loads((HERE / "v1" / "golden.json").read_text())
FLOW = FACTS["flow"]


def _to_format0(raw: dict) -> dict:
    extra = {"foreach": raw.pop("foreach_stack")}
    raw["foreach_stack"] = [
        {k: frame[k] for k in ("step", "index", "num_splits")} for frame in extra["foreach"]
    ]
    for name in ("foreach_var", "caught", "log_origin", "decorators", "resources"):
        value = raw.pop(name)
        if value:
            extra[name] = value
    failure = raw.pop("failure")
    if failure is not None:
        raw["exception"] = {k: failure[k] for k in ("type", "message", "traceback")}
    for name in ("format_version", "written_by", "plugin_data"):
        raw.pop(name)
    raw["extra"] = extra
    return raw


def test_format0_runs_are_read_and_resumed(tmp_path: Path) -> None:
    root = tmp_path / "datastore"
    shutil.copytree(HERE / "v1", root, ignore=shutil.ignore_patterns("golden.json"))
    manifests = sorted(root.rglob("*.manifest.json"))
    assert manifests
    for path in manifests:
        path.write_text(json.dumps(_to_format0(json.loads(path.read_text()))))
    context = ClientContext(str(root))
    failed = context.run(f"{FLOW}/{FACTS['failed_run']}")
    resumed = context.run(f"{FLOW}/{FACTS['resumed_run']}")
    [broken] = [t for t in failed[FACTS["failed_step"]] if not t.successful]
    assert broken.exception is not None and broken.exception.kind == "exception"
    assert broken.foreach_stack[-1].var == "letters"
    assert FACTS["logs"]["start"] in resumed["start"].task.stdout  # through the old log_origin
    assert resumed["end"].task["total"].data == FACTS["artifacts"]["end"]["total"]

    code = tmp_path / "code"
    code.mkdir()
    shutil.copy(HERE / "flow.py", code / "flow.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWKIT_")}
    env["FLOWKIT_DATASTORE_ROOT"] = str(root)
    proc = subprocess.run(
        [sys.executable, "flow.py", "resume", "--origin-run-id", FACTS["failed_run"]],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    newest = max(ClientContext(str(root)).flow(FLOW), key=lambda run: int(run.id))
    assert newest.successful and len([t for t in newest["work"] if t.origin_pathspec]) == 2
