"""The code half of a diff (two versions of a flow file), the HTML view, and the notes."""

from __future__ import annotations

from pathlib import Path

from flowtests import SHAPE_CASES

FLOW = """
from flowkit import FlowSpec, step


class TrainFlow(FlowSpec):
    @step
    def start(self):
        self.rate = {rate}
        self.next(self.end)

    @step
    def end(self):
        self.model = self.rate * 2


if __name__ == "__main__":
    TrainFlow()
"""


def _flow_file(folder: Path, name: str, rate: float) -> Path:
    folder.mkdir()
    path = folder / name
    path.write_text(FLOW.format(rate=rate))
    return path


def test_a_code_change_shows_as_a_unified_diff(run_and_open, tmp_path: Path) -> None:
    first = run_and_open(_flow_file(tmp_path / "v1", "train.py", 0.1))
    second = run_and_open(_flow_file(tmp_path / "v2", "train.py", 0.2))
    diff = first.diff(second)
    [change] = diff.code
    assert (change.path, change.status, change.path_a) == ("train.py", "different", None)
    assert "-        self.rate = 0.1\n+        self.rate = 0.2\n" in change.diff
    assert change.diff.startswith("--- a/train.py\n+++ b/train.py\n")
    assert diff.first_diverged_step == "start"
    assert "Code: 1 file(s) differ" in str(diff)


def test_a_renamed_flow_file_is_compared_with_the_old_one(run_and_open, tmp_path: Path) -> None:
    first = run_and_open(_flow_file(tmp_path / "v1", "train.py", 0.1))
    (tmp_path / "v2").mkdir()
    helper = tmp_path / "v2" / "helper.py"
    helper.write_text("SECOND_TRY = True\n")
    renamed = tmp_path / "v2" / "train_v2.py"
    renamed.write_text(FLOW.format(rate=0.1))
    diff = first.diff(run_and_open(renamed))
    by_path = {f.path: f for f in diff.code}
    assert set(by_path) == {"helper.py", "train_v2.py"}
    assert by_path["train_v2.py"].path_a == "train.py"
    assert by_path["train_v2.py"].diff == ""  # same text, new name
    assert by_path["helper.py"].status == "only_b"
    assert "+SECOND_TRY = True" in by_path["helper.py"].diff
    assert "train_v2.py (was train.py)" in str(diff)
    assert diff.outputs_equal and not diff.equal


def test_the_html_view_holds_the_key_facts(run_and_open, tmp_path: Path) -> None:
    first = run_and_open(_flow_file(tmp_path / "v1", "train.py", 0.1))
    second = run_and_open(_flow_file(tmp_path / "v2", "train.py", 0.25))
    page = first.diff(second)._repr_html_()
    assert f"Diff {first.pathspec} -&gt; {second.pathspec}" in page
    assert "outputs first diverge at step start" in page
    assert "start (first divergence)" in page
    assert "rate (float): 0.1 -&gt; 0.25 (delta +0.15, +150%)" in page
    assert "<pre>--- a/train.py" in page and "+        self.rate = 0.25" in page
    assert "<script" not in page


def test_a_failed_run_is_compared_with_a_note(run_and_open) -> None:
    linear = SHAPE_CASES["linear"].file
    good = run_and_open(linear)
    failed = run_and_open(linear, expect=1, FLOWKIT_TEST_FAIL="c")
    diff = good.diff(failed)
    assert f"run b ({failed.pathspec}) is failed" in diff.notes
    assert diff.step("end").status == "only_a"
    assert diff.first_diverged_step == "c"
    assert diff.step("c").status_changes == ["c: succeeded -> failed"]
    assert "c: different; task status c: succeeded -> failed" in str(diff)
    assert str(diff).splitlines()[1] == f"note: run b ({failed.pathspec}) is failed"
