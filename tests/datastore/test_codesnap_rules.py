"""What goes into a code snapshot: the project tree only, .flowkitignore, limits, extraction cap."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from flowkit.datastore.codesnap import CodeSnapshotError, build_snapshot, extract_snapshot
from flowkit.datastore.ignore import IgnoreRules


def _write(path: Path, text: str = "x = 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    _write(root / "flow.py", "print('flow')\n")
    _write(root / "helpers.py")
    _write(root / "pkg" / "model.py")
    outside = _write(tmp_path / "elsewhere" / "secret_tool.py")
    (root / "linked_out.py").symlink_to(outside)
    (root / "linked_in.py").symlink_to(root / "helpers.py")
    (root / "broken.py").symlink_to(tmp_path / "missing.py")
    (root / "linked_folder").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    _write(root / "build" / "lib" / "pkg" / "model.py")
    _write(root / "dist" / "old.py")
    _write(root / "pkg.egg-info" / "x.py")
    _write(root / "env" / "pyvenv.cfg", "home = /usr")
    _write(root / "env" / "lib" / "mod.py")
    (root / "conda" / "conda-meta").mkdir(parents=True)
    _write(root / "conda" / "lib" / "mod.py")
    _write(root / ".tox" / "py" / "mod.py")
    _write(root / "lib" / "dist-packages" / "dep.py")
    return root


def test_only_files_of_the_project_tree_are_taken(project: Path) -> None:
    snapshot = build_snapshot(project / "flow.py", max_mb=10)
    assert snapshot.files == ["flow.py", "helpers.py", "linked_in.py", "pkg/model.py"]
    text = "\n".join(snapshot.warnings)
    assert "broken.py" in text and "broken link" in text
    assert "linked_out.py" in text and "outside the project" in text


def test_flowkitignore_is_honoured(project: Path) -> None:
    _write(project / "scratch" / "a.py")
    _write(project / "scratch" / "keep.py")
    _write(project / "pkg" / "test_model.py")
    _write(project / "pkg" / "deep" / "gen_out.py")
    _write(
        project / ".flowkitignore",
        "# comments and blank lines are ignored\n\n"
        "scratch/\n"  # a folder at any depth, with everything in it
        "!scratch/keep.py\n"  # cannot re-include inside an ignored folder (as in git)
        "test_*.py\n"
        "/helpers.py\n"  # anchored
        "pkg/**/gen_*.py\n"
        "linked_in.py\n"
        "!linked_in.py\n",  # the last matching rule wins
    )
    snapshot = build_snapshot(project / "flow.py", max_mb=10)
    assert snapshot.files == ["flow.py", "linked_in.py", "pkg/model.py"]


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "ignored"),
    [
        ("*.py", "a/b/c.py", False, True),
        ("/c.py", "a/c.py", False, False),
        ("a/c.py", "a/c.py", False, True),
        ("a/c.py", "x/a/c.py", False, False),
        ("data/", "data", False, False),
        ("data/", "x/data", True, True),
        ("**/gen", "a/b/gen", True, True),
        ("a/**", "a/b/c.py", False, True),
        ("a/**/z.py", "a/z.py", False, True),
        ("a/**/z.py", "a/b/c/z.py", False, True),
        ("file?.py", "file1.py", False, True),
        ("file[0-3].py", "file4.py", False, False),
        ("file[!0-3].py", "file4.py", False, True),
        ("\\#odd.py", "#odd.py", False, True),
    ],
)
def test_ignore_patterns(pattern: str, path: str, is_dir: bool, ignored: bool) -> None:
    assert IgnoreRules([pattern]).ignored(path, is_dir) is ignored


def test_a_snapshot_above_the_limit_is_refused_with_a_fix(project: Path) -> None:
    _write(project / "big.py", "x = 1\n" * 400_000)  # 2.4 MB
    with pytest.raises(CodeSnapshotError) as caught:
        build_snapshot(project / "flow.py", max_mb=1)
    assert "big.py" in str(caught.value) and "FLOWKIT_CODE_MAX_MB" in caught.value.format_message()


def _bomb(size: int) -> bytes:
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as archive:
        info = tarfile.TarInfo("zeros.py")
        info.size = size
        archive.addfile(info, io.BytesIO(bytes(size)))
    return gzip.compress(tar_bytes.getvalue())


def test_extraction_stops_at_the_limit(tmp_path: Path) -> None:
    data = _bomb(20 * 2**20)
    assert len(data) < 100_000  # a small archive ...
    with pytest.raises(CodeSnapshotError, match="expands to more than 1 MiB"):
        extract_snapshot(data, tmp_path / "out", max_bytes=2**20)  # ... refused past 1 MiB
    assert (tmp_path / "out" / "zeros.py").stat().st_size <= 2**20
