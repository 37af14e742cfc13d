"""``@environment`` values never reach the datastore: only the variable names are recorded."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

DECLARED = "declared-s3cr3t-7d1f"
GIVEN = "given-s3cr3t-92ab"

# The secret is read from the environment when the flow is imported, as the README advises, so
# the flow's source (which the code snapshot keeps) never holds it.
FLOW = """
import os

from flowkit import FlowSpec, environment, step


class SecretFlow(FlowSpec):
    @environment(vars={"API_TOKEN": os.environ.get("SECRET_SOURCE", "unset")})
    @step
    def start(self):
        self.token_seen = os.environ["API_TOKEN"] == os.environ.get("SECRET_SOURCE")
        self.next(self.end)

    @step
    def end(self):  # its @environment comes from --with
        self.other_seen = os.environ.get("OTHER_TOKEN", "") != ""


if __name__ == "__main__":
    SecretFlow()
"""


def _every_byte(root: Path) -> list[tuple[Path, bytes]]:
    """Every file under ``root``, also decompressed when it is gzip (code snapshots)."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found.append((path, data))
            if data[:2] == b"\x1f\x8b":
                found.append((path, gzip.decompress(data)))
    return found


@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_environment_values_are_never_stored(run_flow, tmp_path, launcher):
    flow = tmp_path / "secret_flow.py"
    flow.write_text(FLOW)
    given = "environment:vars=" + json.dumps({"OTHER_TOKEN": GIVEN})
    result = run_flow(flow, "run", "--launcher", launcher, "--with", given, SECRET_SOURCE=DECLARED)
    assert result.returncode == 0, result.output

    store = run_flow.store("SecretFlow")
    [task_id] = store.tasks("1", "start")
    manifest = store.read_manifest("1", "start", task_id)
    assert store.load_artifact(manifest.artifacts["token_seen"]) is True
    [end_id] = store.tasks("1", "end")
    end = store.read_manifest("1", "end", end_id)
    assert store.load_artifact(end.artifacts["other_seen"]) is True
    # The names are recorded, so a reader can still tell which variables a task was given.
    assert any("API_TOKEN" in spec for spec in manifest.decorators)

    files = _every_byte(run_flow.root)
    assert files
    for secret in (DECLARED, GIVEN):
        leaks = [str(path) for path, data in files if secret.encode() in data]
        assert leaks == [], f"{secret} stored in {leaks}"
    assert DECLARED not in result.output and GIVEN not in result.output
