"""A reproducible archive of the code a run was started from.

The snapshot holds the flow file and the Python files of the package around it, so a run can be
inspected or resumed later with exactly the code that produced it. The archive is byte-for-byte
deterministic (sorted names, zeroed times and owners), which makes its content hash stable: two
runs of unchanged code share one stored snapshot.
"""

from __future__ import annotations

import fnmatch
import gzip
import io
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from flowkit.errors import DatastoreError

# Folders that hold other people's code, tool state or version control, not the user's package.
_SKIPPED_DIRS = frozenset({"__pycache__", ".flowkit", ".git", "site-packages", "node_modules"})
# Files that may hold secrets are never archived, even when their name ends in .py.
_SECRET_PATTERNS = (".env*", "*.pem", "*.key", "id_rsa*", "*credentials*")
_MB = 1024 * 1024


@dataclass
class CodeSnapshot:
    """A code snapshot archive.

    Attributes:
        data: The ``.tar.gz`` bytes.
        files: Archived paths, relative to the flow file's folder, sorted.
        warnings: Messages to show the user (e.g. the archive is unexpectedly large).
    """

    data: bytes
    files: list[str]
    warnings: list[str] = field(default_factory=list)


def build_snapshot(flow_file: Path, *, warn_mb: float = 10.0) -> CodeSnapshot:
    """Archive the flow file and every ``*.py`` file under its folder.

    Hidden folders, ``__pycache__``, ``.flowkit``, virtual environments (folders holding
    ``pyvenv.cfg``), ``site-packages`` and ``node_modules`` are skipped, and files whose names
    suggest secrets (``.env*``, ``*.pem``, ``*.key``, ``id_rsa*``, ``*credentials*``) are never
    included.

    Args:
        flow_file: The flow's source file.
        warn_mb: Add a warning when the archive is larger than this many MiB.

    Returns:
        The archive, the archived paths and any warnings.

    Raises:
        DatastoreError: ``flow_file`` is not a file.
    """
    flow_file = Path(flow_file).resolve()
    if not flow_file.is_file():
        raise DatastoreError(f"cannot snapshot the code of {flow_file}: it is not a file")
    root = flow_file.parent
    contents = {path: (root / path).read_bytes() for path in _collect(root)}
    contents[flow_file.name] = flow_file.read_bytes()
    files = sorted(contents)
    data = _archive({name: contents[name] for name in files})

    warnings = []
    if len(data) > warn_mb * _MB:
        largest = sorted(files, key=lambda name: len(contents[name]), reverse=True)[:3]
        warnings.append(
            f"the code snapshot of {flow_file.name} is {len(data) / _MB:.1f} MiB (more than "
            f"{warn_mb:g} MiB) because it includes every .py file under {root}; the largest are "
            f"{', '.join(largest)}. Move unrelated files out of that folder to make runs faster."
        )
    return CodeSnapshot(data=data, files=files, warnings=warnings)


def list_snapshot(data: bytes) -> list[str]:
    """Return the paths archived in a snapshot."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return [member.name for member in archive.getmembers() if member.isfile()]


def extract_snapshot(data: bytes, dest: Path) -> list[Path]:
    """Write the files of a snapshot under ``dest``.

    Returns:
        The paths written.

    Raises:
        DatastoreError: The archive holds something other than plain files with relative paths
            inside ``dest`` (which a snapshot built by :func:`build_snapshot` never does).
    """
    dest = Path(dest)
    written = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            name = PurePosixPath(member.name)
            if not member.isfile() or name.is_absolute() or ".." in name.parts:
                raise DatastoreError(
                    f"the code snapshot holds the unsafe entry {member.name!r}; it was not "
                    "written by flowkit and will not be extracted"
                )
            source = archive.extractfile(member)
            assert source is not None  # regular files always have contents
            target = dest.joinpath(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read())
            written.append(target)
    return written


def _collect(root: Path) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(root):
        # Pruning in place stops os.walk from descending; sorting makes the walk deterministic.
        dirs[:] = sorted(d for d in dirs if not _skip_dir(Path(folder) / d))
        relative = Path(folder).relative_to(root)
        for name in sorted(files):
            if name.endswith(".py") and not name.startswith(".") and not _is_secret(name):
                found.append((relative / name).as_posix())
    return found


def _skip_dir(path: Path) -> bool:
    return path.name.startswith(".") or path.name in _SKIPPED_DIRS or (path / "pyvenv.cfg").exists()


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in _SECRET_PATTERNS)


def _archive(contents: dict[str, bytes]) -> bytes:
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in contents.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(content))
    compressed = io.BytesIO()
    # filename="" and mtime=0 keep the gzip header free of anything that varies between builds.
    with gzip.GzipFile(filename="", fileobj=compressed, mode="wb", mtime=0) as gz:
        gz.write(tar_bytes.getvalue())
    return compressed.getvalue()
