"""``Runner.spin`` and ``NBRunner.nbspin``: one step again from Python, its outputs returned."""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
import uuid
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from s3servers import S3Server

from flowkit import Runner
from flowkit.client import ClientContext
from flowkit.runner_api import RunnerError

FLOW = """\
from flowkit import FlowSpec, Parameter, step


class ApiSpinFlow(FlowSpec):
    alpha = Parameter("alpha", default=1)

    @step
    def start(self):
        self.x = self.alpha * 10
        self.next(self.train)

    @step
    def train(self):
        print("training on", self.x)
        self.model = "linear"  # EDIT
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ApiSpinFlow()
"""


def _leftovers() -> list[str]:
    return [p for p in os.listdir(tempfile.gettempdir()) if p.startswith("flowkit-spin-")]


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    path = tmp_path / "apiflow.py"
    path.write_text(FLOW, encoding="utf-8")
    return path


def _runner(flow_file: Path) -> Runner:
    root = flow_file.parent / "datastore"
    return Runner(flow_file, show_output=False, cwd=flow_file.parent, datastore_root=str(root))


def test_spin_with_persist_gives_the_task(flow_file: Path) -> None:
    with _runner(flow_file).run(alpha=3) as running:
        assert running.status == "successful"
    flow_file.write_text(FLOW.replace('"linear"  # EDIT', '"kmeans"'), encoding="utf-8")
    with _runner(flow_file).spin("train", persist=True) as spin:
        assert spin.status == "successful"
        assert spin.task["model"].data == "kmeans"
        assert spin.task["x"].data == 30  # the past run's input
        assert spin.source.startswith("ApiSpinFlow/1/train/")
        assert spin.changed == ["model"]
        assert "training on 30" in spin.stdout
        assert "training on 30" in spin.task.stdout  # its log is kept with it
        assert spin.pathspec is not None and spin.pathspec.startswith("ApiSpinFlow/")
    assert _leftovers() == []
    # the real datastore still has one run, and nothing from the spin
    with _runner(flow_file).run(alpha=1) as second:
        assert second.run is not None and second.run.id == "2"


def test_spin_without_persist_keeps_nothing(flow_file: Path) -> None:
    _runner(flow_file).run().cleanup()
    with _runner(flow_file).spin("train") as spin:
        assert spin.status == "successful"
        assert spin.changed == ["model"]
        with pytest.raises(RunnerError, match="not persisted"):
            _ = spin.task
    assert not (flow_file.parent / ".flowkit_spin").exists()


def test_spin_that_cannot_start_raises_with_the_cli_message(flow_file: Path) -> None:
    with pytest.raises(RunnerError, match="has no past run"):
        _runner(flow_file).spin("train")
    _runner(flow_file).run().cleanup()
    with pytest.raises(RunnerError, match='Did you mean "train"'):
        _runner(flow_file).spin("trian")
    assert _leftovers() == []


def test_a_failing_spin_is_reported_on_the_handle(flow_file: Path) -> None:
    _runner(flow_file).run().cleanup()
    flow_file.write_text(FLOW.replace('"linear"  # EDIT', "1 / 0"), encoding="utf-8")
    with _runner(flow_file).spin("train") as spin:
        assert spin.status == "failed"
        assert spin.returncode == 1
        assert "ZeroDivisionError" in spin.stderr


def test_spin_reads_its_inputs_from_s3_and_keeps_the_outputs_local(
    moto_s3: S3Server, flow_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in moto_s3.aws_variables().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    prefix = f"spin-{uuid.uuid4().hex[:12]}"
    url = moto_s3.url(prefix)
    try:
        runner = Runner(flow_file, show_output=False, cwd=flow_file.parent, datastore_root=url)
        runner.run(alpha=4).cleanup()
        flow_file.write_text(FLOW.replace('"linear"  # EDIT', '"tree"'), encoding="utf-8")
        with runner.spin("train", persist=True) as spin:
            assert spin.status == "successful", spin.stderr
            assert spin.task["model"].data == "tree"
            assert spin.task["x"].data == 40  # read from the bucket, copied to the spin area
        assert (flow_file.parent / ".flowkit_spin").is_dir()
        assert [r.id for r in ClientContext(url).flow("ApiSpinFlow").runs()] == ["1"]
    finally:
        moto_s3.clear(prefix)


NB_FLOW = """\
from flowkit import FlowSpec, step


class NbSpinFlow(FlowSpec):
    @step
    def start(self):
        self.x = 5
        self.next(self.end)

    @step
    def end(self):
        self.y = self.x * {factor}
"""


@pytest.fixture
def clean_kernel_tmp():
    """ipykernel keeps each cell's source in $TMPDIR/ipykernel_<pid>/: not ours to leave."""
    before = set(os.listdir(tempfile.gettempdir()))
    yield
    for name in set(os.listdir(tempfile.gettempdir())) - before:
        if name.startswith("ipykernel_"):
            shutil.rmtree(Path(tempfile.gettempdir()) / name, ignore_errors=True)


def test_nbspin_returns_the_spun_task_in_a_notebook(tmp_path: Path, clean_kernel_tmp) -> None:
    root = tmp_path / "datastore"
    cells = [
        NB_FLOW.format(factor=2),
        f"from flowkit import NBRunner\n"
        f"print('RUN:', NBRunner(NbSpinFlow, show_output=False, "
        f"datastore_root={str(root)!r}).nbrun().data.y)",
        NB_FLOW.format(factor=100),  # the cell edited and run again
        f"task = NBRunner(NbSpinFlow, show_output=False, datastore_root={str(root)!r})"
        f".nbspin('end')\nprint('SPUN:', task['y'].data, task['x'].data)",
    ]
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells]
    )
    where = {"metadata": {"path": str(tmp_path)}}
    NotebookClient(notebook, timeout=180, kernel_name="python3", resources=where).execute()
    outputs = [
        "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        for cell in notebook.cells
    ]
    assert "RUN: 10" in outputs[1]
    assert "SPUN: 500 5" in outputs[3]
