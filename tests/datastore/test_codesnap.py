"""Code snapshots: contents, exclusions, determinism and extraction."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from flowkit.datastore import build_snapshot, extract_snapshot, list_snapshot
from flowkit.errors import DatastoreError


def _write(path: Path, text: str = "x = 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A flow file in a package folder full of things that must not be archived."""
    root = tmp_path / "project"
    _write(root / "flow.py", "print('flow')\n")
    _write(root / "helpers.py")
    _write(root / "pkg" / "__init__.py", "")
    _write(root / "pkg" / "sub" / "model.py")
    _write(root / "README.md", "not python")
    _write(root / ".env", "SECRET=1")
    _write(root / ".env.py", "SECRET = 1")
    _write(root / "aws_credentials.py", "KEY = 'x'")
    _write(root / "server.key")
    _write(root / "id_rsa.py")
    _write(root / ".hidden" / "tool.py")
    _write(root / ".flowkit" / "HelloFlow" / "cache.py")
    _write(root / ".git" / "hooks" / "hook.py")
    _write(root / "__pycache__" / "helpers.cpython-311.py")
    _write(root / "venv" / "pyvenv.cfg", "home = /usr")
    _write(root / "venv" / "lib" / "site.py")
    _write(root / "lib" / "site-packages" / "dep.py")
    _write(root / "web" / "node_modules" / "x.py")
    return root


def test_snapshot_contains_the_package_and_nothing_else(project: Path) -> None:
    snapshot = build_snapshot(project / "flow.py")
    expected = ["flow.py", "helpers.py", "pkg/__init__.py", "pkg/sub/model.py"]
    assert snapshot.files == expected
    assert list_snapshot(snapshot.data) == expected
    assert snapshot.warnings == []


def test_snapshot_is_byte_identical_across_builds(project: Path) -> None:
    first = build_snapshot(project / "flow.py").data
    for path in project.rglob("*.py"):
        os.utime(path, (1_000_000, 1_000_000))
    (project / "helpers.py").chmod(0o755)
    assert build_snapshot(project / "flow.py").data == first


def test_snapshot_changes_when_code_changes(project: Path) -> None:
    first = build_snapshot(project / "flow.py").data
    _write(project / "helpers.py", "x = 2\n")
    assert build_snapshot(project / "flow.py").data != first


def test_archive_metadata_is_normalized(project: Path) -> None:
    data = build_snapshot(project / "flow.py").data
    assert gzip.decompress(data)  # valid gzip
    assert data[4:8] == b"\0\0\0\0"  # gzip header mtime
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            assert (member.mtime, member.uid, member.gid, member.mode) == (0, 0, 0, 0o644)
            assert (member.uname, member.gname) == ("", "")


def test_extract_round_trip(project: Path, tmp_path: Path) -> None:
    snapshot = build_snapshot(project / "flow.py")
    dest = tmp_path / "out"
    written = extract_snapshot(snapshot.data, dest)
    assert sorted(p.relative_to(dest).as_posix() for p in written) == snapshot.files
    assert (dest / "flow.py").read_text() == "print('flow')\n"
    assert (dest / "pkg" / "sub" / "model.py").read_text() == "x = 1\n"


def test_extract_refuses_paths_outside_dest(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("../escape.py")
        info.size = 1
        archive.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(DatastoreError, match="unsafe entry"):
        extract_snapshot(buffer.getvalue(), tmp_path / "out")
    assert not (tmp_path / "escape.py").exists()


def test_large_snapshot_warns(project: Path) -> None:
    _write(project / "big_table.py", "DATA = " + repr(os.urandom(300_000).hex()) + "\n")
    snapshot = build_snapshot(project / "flow.py", warn_mb=0.1)
    assert len(snapshot.warnings) == 1
    assert "big_table.py" in snapshot.warnings[0]
    assert "0.1 MiB" in snapshot.warnings[0]


def test_missing_flow_file(tmp_path: Path) -> None:
    with pytest.raises(DatastoreError, match="not a file"):
        build_snapshot(tmp_path / "nope.py")
