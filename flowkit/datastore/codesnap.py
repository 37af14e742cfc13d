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

from flowkit.datastore.ignore import IGNORE_FILE, IgnoreRules
from flowkit.errors import DatastoreError

# Folders that hold other people's code, build output, tool state or version control.
_SKIPPED_DIRS = frozenset(
    {
        "__pycache__",
        ".flowkit",
        ".git",
        ".hg",
        ".svn",
        "site-packages",
        "dist-packages",
        "node_modules",
        "build",
        "dist",
        ".tox",
        ".nox",
        ".venv",
        ".eggs",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)
# A folder holding one of these is a Python environment (venv, virtualenv, conda).
_ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")
# Files that may hold secrets are never archived, even when their name ends in .py.
_SECRET_PATTERNS = (".env*", "*.pem", "*.key", "id_rsa*", "*credentials*")
_MB = 1024 * 1024
_CHUNK = 1 << 20


class CodeSnapshotError(DatastoreError):
    """The code snapshot cannot be made or extracted (too large, or not written by flowkit)."""


@dataclass
class CodeSnapshot:
    """A code snapshot archive.

    Attributes:
        data: The ``.tar.gz`` bytes.
        files: Archived paths, relative to the flow file's folder, sorted.
        warnings: Messages to show the user (e.g. a broken link was skipped).
    """

    data: bytes
    files: list[str]
    warnings: list[str] = field(default_factory=list)


def build_snapshot(
    flow_file: Path, *, warn_mb: float = 10.0, max_mb: float | None = None
) -> CodeSnapshot:
    """Archive the flow file and the ``*.py`` files of the project around it.

    The project is the flow file's folder. Left out: files that are not inside it once links
    are resolved (a link pointing outside, or a linked folder), broken links (with a warning),
    hidden files and folders, Python environments (folders holding ``pyvenv.cfg`` or
    ``conda-meta``, ``site-packages``), build output and tool state (``build/``, ``dist/``,
    ``*.egg-info``, ``__pycache__``, ``.git``, ``.flowkit``, ``node_modules``, ``.tox``,
    ``.nox`` ...), what the project's ``.flowkitignore`` names (gitignore syntax), and files
    whose names suggest secrets (``.env*``, ``*.pem``, ``*.key``, ``id_rsa*``,
    ``*credentials*``). The flow file itself is always included.

    Args:
        flow_file: The flow's source file.
        warn_mb: Add a warning when the archive is larger than this many MiB.
        max_mb: Refuse when the files add up to more than this many MiB; ``None`` reads the
            ``code_max_mb`` setting (``FLOWKIT_CODE_MAX_MB``).

    Returns:
        The archive, the archived paths and any warnings.

    Raises:
        DatastoreError: ``flow_file`` is not a file.
        CodeSnapshotError: The files add up to more than ``max_mb``.
    """
    flow_file = Path(flow_file).resolve()
    if not flow_file.is_file():
        raise DatastoreError(f"cannot snapshot the code of {flow_file}: it is not a file")
    root = flow_file.parent
    warnings: list[str] = []
    paths = dict(_collect(root, IgnoreRules.for_folder(root), warnings))
    paths[flow_file.name] = flow_file
    sizes = {name: path.stat().st_size for name, path in paths.items()}
    limit = _max_mb() if max_mb is None else max_mb
    total = sum(sizes.values())
    if total > limit * _MB:
        largest = sorted(sizes, key=lambda name: sizes[name], reverse=True)[:5]
        listed = ", ".join(f"{name} ({sizes[name] / _MB:.1f} MiB)" for name in largest)
        raise CodeSnapshotError(
            f"the code snapshot of {flow_file.name} would hold {total / _MB:.1f} MiB of files "
            f"from {root}, more than the limit of {limit:g} MiB; the largest are {listed}",
            hint=f"leave files out with a {IGNORE_FILE} in {root} (gitignore syntax), move "
            "them out of that folder, or raise the limit with FLOWKIT_CODE_MAX_MB",
        )
    files = sorted(paths)
    data = _archive({name: paths[name].read_bytes() for name in files})
    if len(data) > warn_mb * _MB:
        largest = sorted(files, key=lambda name: sizes[name], reverse=True)[:3]
        warnings.append(
            f"the code snapshot of {flow_file.name} is {len(data) / _MB:.1f} MiB (more than "
            f"{warn_mb:g} MiB) because it includes every .py file under {root}; the largest are "
            f"{', '.join(largest)}. List unrelated files in {IGNORE_FILE} to make runs faster."
        )
    return CodeSnapshot(data=data, files=files, warnings=warnings)


def _max_mb() -> float:
    from flowkit.settings import load_settings

    return load_settings().code_max_mb


def list_snapshot(data: bytes) -> list[str]:
    """Return the paths archived in a snapshot."""
    return [name for name, _ in snapshot_sizes(data)]


def snapshot_sizes(data: bytes) -> list[tuple[str, int]]:
    """Return the paths archived in a snapshot with their sizes in bytes (read from headers)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|gz") as archive:
        return [(member.name, member.size) for member in archive if member.isfile()]


def extract_snapshot(data: bytes, dest: Path, *, max_bytes: int | None = None) -> list[Path]:
    """Write the files of a snapshot under ``dest``, streaming each one in chunks.

    Args:
        data: The archive.
        dest: The folder to write into.
        max_bytes: Stop when the files would add up to more than this (a small archive may
            expand to gigabytes); ``None`` reads the ``code_max_mb`` setting.

    Returns:
        The paths written.

    Raises:
        CodeSnapshotError: The archive holds something other than plain files with relative
            paths inside ``dest`` (which a snapshot built by :func:`build_snapshot` never
            does), or expands to more than ``max_bytes``.
    """
    dest = Path(dest)
    limit = int(_max_mb() * _MB) if max_bytes is None else max_bytes
    written = []
    total = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|gz") as archive:
        for member in archive:
            name = PurePosixPath(member.name)
            if not member.isfile() or name.is_absolute() or ".." in name.parts:
                raise CodeSnapshotError(
                    f"the code snapshot holds the unsafe entry {member.name!r}; it was not "
                    "written by flowkit and will not be extracted",
                    hint="extract only snapshots that flowkit stored for a run",
                )
            source = archive.extractfile(member)
            assert source is not None  # regular files always have contents
            target = dest.joinpath(*name.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as out:
                while chunk := source.read(_CHUNK):
                    total += len(chunk)
                    if total > limit:
                        raise CodeSnapshotError(
                            f"the code snapshot expands to more than {limit / _MB:g} MiB "
                            f"(stopped at {member.name}); extraction was stopped",
                            hint="raise FLOWKIT_CODE_MAX_MB where the code is extracted if "
                            "the run's code really is that large",
                        )
                    out.write(chunk)
            written.append(target)
    return written


def _collect(root: Path, rules: IgnoreRules, warnings: list[str]) -> list[tuple[str, Path]]:
    """``(archived name, file to read)`` for every file of the project that belongs in it."""
    found = []
    for folder, dirs, files in os.walk(root):  # does not follow linked folders
        here = Path(folder)
        relative = here.relative_to(root)
        # Pruning in place stops os.walk from descending; sorting makes the walk deterministic.
        dirs[:] = sorted(
            d
            for d in dirs
            if not (here / d).is_symlink()
            and not _skip_dir(here / d)
            and not rules.ignored((relative / d).as_posix(), True)
        )
        for name in sorted(files):
            if not name.endswith(".py") or name.startswith(".") or _is_secret(name):
                continue
            archived = (relative / name).as_posix()
            if rules.ignored(archived, False):
                continue
            path = here / name
            if path.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):  # missing target, or a loop of links
                    warnings.append(f"skipped {archived} from the code snapshot: a broken link")
                    continue
                if not target.is_relative_to(root):
                    warnings.append(
                        f"skipped {archived} from the code snapshot: it links to {target}, "
                        "outside the project"
                    )
                    continue
                if not target.is_file():
                    continue
            found.append((archived, path))
    return found


def _skip_dir(path: Path) -> bool:
    name = path.name
    if name.startswith(".") or name in _SKIPPED_DIRS or name.endswith(".egg-info"):
        return True
    return any((path / marker).exists() for marker in _ENVIRONMENT_MARKERS)


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
