"""A datastore backend from another package plugs in by URL scheme, as users install it.

``tests/fixtures/flowkit_sqlitestore`` is a complete third-party backend (one SQLite file) with a
``datastore.sqlite`` entry point. Installed with pip, it makes ``sqlite://`` roots work for flow
runs (forked tasks included), ``resume`` and the client, with nothing registered in flowkit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flowtests import SHAPE_CASES, FlowRunner, end_artifact

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "flowkit_sqlitestore"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(FIXTURE),
        ],
        check=True,
        capture_output=True,
    )
    return str(target)


def _env(plugin_path: str) -> dict[str, str]:
    return {
        "PYTHONPATH": os.pathsep.join(filter(None, [plugin_path, os.environ.get("PYTHONPATH")]))
    }


def test_a_flow_runs_on_a_plugin_backend_chosen_by_scheme(plugin_path: str, tmp_path: Path) -> None:
    root = f"sqlite://{tmp_path}/team.db"
    runner = FlowRunner(tmp_path / "unused", tmp_path)
    runner.env["FLOWKIT_DATASTORE_ROOT"] = root
    shape = SHAPE_CASES["foreach"]
    result = runner(shape.file, "run", **_env(plugin_path))
    assert result.returncode == 0, result.output
    assert (tmp_path / "team.db").is_file()
    assert not (tmp_path / "unused").exists()  # nothing went to a folder instead

    # The runner's objects are in the SQLite file, readable through the same backend here.
    from flowkit.datastore import ByteStorage, FlowDatastore

    store = FlowDatastore(ByteStorage(root), shape.flow)
    [run_id] = store.run_ids()
    assert end_artifact(store, run_id) == shape.result

    # The client in another process finds the run through the entry point alone.
    code = (
        "from flowkit import Flow\n"
        f"run = Flow({shape.flow!r}).latest_run\n"
        "print(run.successful, sorted(run.data.result))\n"
    )
    env = dict(runner.env, **_env(plugin_path))
    client = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert client.returncode == 0, client.stderr
    assert client.stdout.split()[0] == "True"


def test_without_the_plugin_the_scheme_is_refused_with_a_hint(tmp_path: Path) -> None:
    runner = FlowRunner(tmp_path / "unused", tmp_path)
    runner.env["FLOWKIT_DATASTORE_ROOT"] = f"sqlite://{tmp_path}/team.db"
    result = runner(SHAPE_CASES["linear"].file, "run")
    assert result.returncode != 0
    assert "unknown URL scheme 'sqlite'" in result.output
    assert "datastore.sqlite" in result.output
    assert "Traceback" not in result.output
