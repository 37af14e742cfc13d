"""``NBRunner``: a flow class defined in a notebook cell, run from the notebook.

The notebooks are executed for real, in an IPython kernel (nbclient + ipykernel), because how a
cell's source can be found is exactly what differs from a flow file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

FLOW_CELL = """\
import os
from flowkit import FlowSpec, Parameter, step


class NotebookFlow(FlowSpec):
    alpha = Parameter("alpha", default=1)

    @step
    def start(self):
        print("alpha in the flow:", self.alpha)
        self.y = self.alpha * 10
        self.next(self.end)

    @step
    def end(self):
        if os.environ.get("NB_FAIL"):
            raise RuntimeError("failing in the notebook flow")
        self.done = True
"""


def _execute(cells: list[str], cwd: Path) -> list[str]:
    """Run the cells in a fresh kernel; return each cell's printed output."""
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells]
    )
    NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    outputs = []
    for cell in notebook.cells:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        outputs.append(text)
    return outputs


@pytest.fixture
def clean_kernel_tmp():
    """ipykernel keeps each cell's source in $TMPDIR/ipykernel_<pid>/: not ours to leave."""
    before = set(os.listdir(tempfile.gettempdir()))
    yield
    for name in set(os.listdir(tempfile.gettempdir())) - before:
        if name.startswith("ipykernel_"):
            shutil.rmtree(Path(tempfile.gettempdir()) / name, ignore_errors=True)


def test_nbrun_and_nbresume_in_a_notebook(tmp_path: Path, clean_kernel_tmp) -> None:
    root = tmp_path / "datastore"
    outputs = _execute(
        [
            FLOW_CELL,
            "myalpha = 4",  # a variable of another cell, passed as a parameter value
            f"""\
            import os
            from flowkit import NBRunner
            os.environ["NB_FAIL"] = "1"
            try:
                NBRunner(NotebookFlow, show_output=False, datastore_root={str(root)!r}).nbrun(
                    alpha=myalpha
                )
            except Exception as exc:
                print("FAILED:", type(exc).__name__, exc)
            """,
            f"""\
            del os.environ["NB_FAIL"]
            run = NBRunner(NotebookFlow, datastore_root={str(root)!r}).nbresume()
            print("RESUMED:", run.pathspec, run.origin_run_id, run.data.y, run.data.done)
            """,
            "import tempfile, os; "
            "print('LEFT:', sorted(p for p in os.listdir(tempfile.gettempdir()) "
            "if p.startswith('flowkit-')))",
        ],
        tmp_path,
    )
    failed = outputs[2]
    assert "FAILED: RunFailed run NotebookFlow/1 failed" in failed
    assert "task NotebookFlow/1/end/2 failed" in failed
    assert "RuntimeError: failing in the notebook flow" in failed
    assert "RESUMED: NotebookFlow/2 1 40 True" in outputs[3]
    assert "alpha in the flow" not in outputs[3]  # start was cloned, not run again
    assert "LEFT: []" in outputs[4]  # the temporary flow files are gone


def test_nbrunner_in_the_cell_that_defines_the_flow(tmp_path: Path, clean_kernel_tmp) -> None:
    root = tmp_path / "datastore"
    # a magic in the cell: IPython turns it into a get_ipython() call, left out of the flow file
    cell = (
        "%env NB_MAGIC=1\n"
        + FLOW_CELL
        + textwrap.dedent(
            f"""
        from flowkit import NBRunner
        run = NBRunner(NotebookFlow, datastore_root={str(root)!r}).nbrun(alpha=2)
        print("RUN:", run.pathspec, run.successful, run.data.y)
        """
        )
    )
    outputs = _execute([cell], tmp_path)
    assert "RUN: NotebookFlow/1 True 20" in outputs[0]
    assert "alpha in the flow: 2" in outputs[0]  # show_output echoes the run in the cell


def test_async_run_from_a_notebook(tmp_path: Path, clean_kernel_tmp) -> None:
    root = tmp_path / "datastore"
    outputs = _execute(
        [
            FLOW_CELL,
            f"""\
            from flowkit import NBRunner
            nb = NBRunner(NotebookFlow, datastore_root={str(root)!r})
            running = await nb.async_run(alpha=3)
            await running.wait()
            print("ASYNC:", running.status, running.run.data.y)
            nb.cleanup()
            """,
        ],
        tmp_path,
    )
    assert "ASYNC: successful 30" in outputs[1]


def test_a_flow_with_no_source_is_refused(tmp_path: Path, clean_kernel_tmp) -> None:
    with pytest.raises(CellExecutionError, match="the source of Hidden cannot be found"):
        _execute(
            [
                "from flowkit import FlowSpec, NBRunner\n"
                "Hidden = type('Hidden', (FlowSpec,), {})\n"
                "NBRunner(Hidden)"
            ],
            tmp_path,
        )
