"""The client with damaged records: listings carry on, direct reads name the file."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from flowtests import SHAPE_CASES, FlowRunner

from flowkit.client import ClientContext, UnreadableRun
from flowkit.errors import CorruptRecord, UnreadableRecordWarning

LINEAR = SHAPE_CASES["linear"].file


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("unreadable-client")
    runner = FlowRunner(work / "datastore", work)
    for _ in range(3):
        assert runner(LINEAR, "run").returncode == 0
    return work / "datastore"


@pytest.fixture
def root(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "datastore"
    shutil.copytree(pristine, copy)
    return copy


def _context(root: Path) -> ClientContext:
    return ClientContext(str(root))


def test_runs_and_latest_run_skip_a_garbage_record_with_a_warning(root: Path) -> None:
    # A finished run is read from its end record alone (the complete record).
    garbage = root / "LinearFlow" / "runs" / "3" / "end.json"
    garbage.write_text('{"flow": "LinearFlow", "run_id": "3", "created_at": [], "user": "a"}')
    flow = _context(root).flow("LinearFlow")
    with pytest.warns(UnreadableRecordWarning, match=garbage.as_uri()):
        assert [run.id for run in flow] == ["2", "1"]
    with pytest.warns(UnreadableRecordWarning):
        latest = flow.latest_run
    assert latest is not None and latest.id == "2"
    entries = list(flow.listing())
    assert isinstance(entries[0], UnreadableRun)
    assert entries[0].url == garbage.as_uri() and "created_at" in entries[0].reason
    assert [e.id for e in entries[1:]] == ["2", "1"]
    with pytest.raises(CorruptRecord, match="created_at") as info:
        _context(root).run("LinearFlow/3")
    assert info.value.url == garbage.as_uri()


@pytest.mark.parametrize(
    "content", ['{"status": "succeeded", "finished_at": "soon"}', '{"status": 3}', "[]"]
)
def test_a_damaged_end_record_is_named(root: Path, content: str) -> None:
    end = root / "LinearFlow" / "runs" / "2" / "end.json"
    end.write_text(content)
    with pytest.raises(CorruptRecord) as info:
        _context(root).run("LinearFlow/2")
    assert info.value.url == end.as_uri()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreadableRecordWarning)
        assert [r.id for r in _context(root).flow("LinearFlow")] == ["3", "1"]


def test_a_truncated_manifest_is_named_and_the_run_still_summarizes(root: Path) -> None:
    manifest = root / "LinearFlow" / "runs" / "2" / "c" / "4" / "0.manifest.json"
    manifest.write_text(manifest.read_text()[:20])
    run = _context(root).run("LinearFlow/2")
    with pytest.warns(UnreadableRecordWarning, match="0.manifest.json"):
        steps = [s.step for s in run.step_summaries()]
    assert steps == ["start", "a", "b", "end"]
    assert run.data is not None and run.data.result["x"] == 4
    with pytest.raises(CorruptRecord) as info:
        _context(root).task("LinearFlow/2/c/4")
    assert info.value.url == manifest.as_uri()


@pytest.mark.parametrize("hint", ["garbage", "-3", "123456789012345678901234567890", "7"])
def test_a_nonsense_latest_hint_is_ignored(root: Path, hint: str) -> None:
    (root / "LinearFlow" / "latest").write_text(hint)
    latest = _context(root).flow("LinearFlow").latest_run
    assert latest is not None and latest.id == "3"
