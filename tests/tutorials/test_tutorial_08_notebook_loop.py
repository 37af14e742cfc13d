"""Episode 08: the notebook loop runs end to end in a real kernel (nbclient + ipykernel), and
the README's commands run as shown.

The notebook runs in a copy of the episode's folder, with the datastore in the test's temporary
folder: the repository's copy, the system's temporary folder and the spin area are left as
they were.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from flowkit import run_step

EPISODE = Path(__file__).resolve().parents[2] / "tutorials" / "08-notebook-loop"
SHIPPED = {"README.md", "flow.py", "loop.ipynb"}


@pytest.fixture
def clean_kernel_tmp() -> Iterator[None]:
    """ipykernel keeps each cell's source in $TMPDIR/ipykernel_<pid>/: not ours to leave."""
    before = set(os.listdir(tempfile.gettempdir()))
    yield
    for name in set(os.listdir(tempfile.gettempdir())) - before:
        if name.startswith("ipykernel_"):
            shutil.rmtree(Path(tempfile.gettempdir()) / name, ignore_errors=True)


def _stream_text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_notebook_is_valid_nbformat_4_without_outputs() -> None:
    notebook = nbformat.read(EPISODE / "loop.ipynb", as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    # only the public API: a user copies these lines
    source = "\n".join(c.source for c in code)
    assert "flowkit." not in source.replace("from flowkit import", "")


def test_notebook_loop_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_kernel_tmp: None
) -> None:
    folder = tmp_path / "08-notebook-loop"
    shutil.copytree(EPISODE, folder)
    monkeypatch.setenv("FLOWKIT_DATASTORE_ROOT", str(tmp_path / "datastore"))
    notebook = nbformat.read(folder / "loop.ipynb", as_version=4)
    started = time.monotonic()
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    seconds = time.monotonic() - started
    out = "\n".join(_stream_text(c) for c in notebook.cells if c.cell_type == "code")

    # the first version: a line through the origin, run from the notebook
    assert "RUN: FitFlow/1 True 2.256 0.2264" in out
    assert "[1/fit/2] fit: slope 2.256, intercept 0.0 (alpha 0.5)" in out  # echoed by nbrun
    assert "FIT: 2.256 0.0" in out
    assert "ERRORS: [0.844, 0.388, 0.432, -0.224, -0.18]" in out
    assert "LOG: fit: slope 2.256, intercept 0.0 (alpha 0.5)" in out
    assert re.search(r"evaluate\s+succeeded", out)
    # the edited fit, spun against run 1's inputs (alpha 0.5 included), then run again
    assert "SPUN: 1.895 1.335" in out
    assert "BEFORE: 2.256 0.0" in out
    assert "MSE: 0.2264 -> 0.0394" in out
    assert "RUNS: ['2', '1']" in out  # the spin is not a run
    # flow.py through Runner, blocking and streaming
    assert "FILE: successful FitFlow/3 1.05" in out
    assert "STREAM: [4/fit/2] fit: slope 1.658, intercept 2.046 (alpha 2.0)" in out
    assert "ASYNC: successful 1.658" in out
    assert "STEP TEST: {'slope': 2.0, 'intercept': 1.0} ['evaluate']" in out

    # nothing left behind: the spin area (removed by the last cell), the temporary flow files
    # and run logs, and the repository's copy of the episode
    assert sorted(p.name for p in folder.iterdir()) == sorted(SHIPPED)
    assert [p for p in os.listdir(tempfile.gettempdir()) if p.startswith("flowkit-")] == []
    assert {p.name for p in EPISODE.iterdir()} == SHIPPED
    assert seconds < 60, f"the notebook took {seconds:.1f} s"


def test_readme_commands(run_flow, tmp_path: Path) -> None:
    folder = tmp_path / "08-notebook-loop"
    shutil.copytree(EPISODE, folder)
    run_flow.cwd = folder
    ran = run_flow(folder / "flow.py", "run", "--alpha", "0.5")
    assert ran.returncode == 0, ran.output
    assert "slope 1.895, intercept 1.335, mse 0.0394" in ran.stdout
    spun = run_flow(folder / "flow.py", "spin", "fit")
    assert spun.returncode == 0, spun.output
    assert "Spun fit with the inputs of FitFlow/1/fit/2" in spun.stdout
    assert "intercept = 1.335" in spun.stdout and "slope = 1.895" in spun.stdout
    # the README's unit test, on the file
    result = run_step(
        folder / "flow.py", "fit", inputs={"xs": [0.0, 1.0, 2.0], "ys": [1.0, 3.0, 5.0]}
    )
    assert result.artifacts == {"slope": 2.0, "intercept": 1.0}
    assert result.next == ["evaluate"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(SHIPPED)  # nothing stored
