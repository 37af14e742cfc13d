"""The code half of a run diff: the two code snapshots, file by file, as unified diffs."""

from __future__ import annotations

import difflib

from flowkit.client.code import RunCode
from flowkit.client.diff.model import FileDiff

#: Bytes of one file read for a diff; a larger file is reported by its size only.
MAX_FILE_BYTES = 2 * 2**20


def diff_code(code_a: RunCode | None, code_b: RunCode | None) -> tuple[list[FileDiff], list[str]]:
    """The files that differ between two snapshots, sorted by path.

    The flow files are compared with each other even when their names differ (``train.py``
    against ``train_v2.py``); every other file is compared with the file of the same path.

    Returns:
        The differing files, and notes on what could not be compared (a run without a
        snapshot).
    """
    if code_a is None or code_b is None:
        which = "a" if code_a is None else "b"
        return [], [f"code not compared: run {which} has no code snapshot"]
    if code_a.sha == code_b.sha:
        return [], []
    files_a, files_b = _files(code_a), _files(code_b)
    script_a, script_b = code_a.script_name, code_b.script_name
    pairs: dict[str, str | None] = {path: path for path in files_b}
    if script_a != script_b and script_a in files_a and script_b in files_b:
        pairs[script_b] = script_a  # the flow file was renamed: compare the two flow files
    paired_a = {a for a in pairs.values() if a is not None and a in files_a}
    found: list[FileDiff] = []
    for path_b, path_a in sorted(pairs.items()):
        data_b = files_b[path_b]
        data_a = files_a.get(path_a) if path_a is not None else None
        if data_a is None:
            found.append(FileDiff(path_b, "only_b", _unified(None, data_b, path_b, path_b)))
        elif data_a != data_b or path_a != path_b:  # a renamed flow file is a change too
            shown_a = path_a if path_a != path_b else None
            text = _unified(data_a, data_b, path_a or path_b, path_b) if data_a != data_b else ""
            found.append(FileDiff(path_b, "different", text, shown_a))
    for path_a in sorted(set(files_a) - paired_a):
        found.append(FileDiff(path_a, "only_a", _unified(files_a[path_a], None, path_a, path_a)))
    return sorted(found, key=lambda f: f.path), []


def _files(code: RunCode) -> dict[str, bytes]:
    """Every regular file of the snapshot: path -> its first ``MAX_FILE_BYTES + 1`` bytes."""
    found: dict[str, bytes] = {}
    with code.tarball as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            handle = archive.extractfile(member)
            if handle is not None:
                found[member.name.removeprefix("./")] = handle.read(MAX_FILE_BYTES + 1)
    return found


def _text(data: bytes | None) -> list[str] | None:
    """The lines of a text file; ``None`` for a binary or oversized one."""
    if data is None:
        return []
    if b"\0" in data or len(data) > MAX_FILE_BYTES:
        return None
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def _unified(a: bytes | None, b: bytes | None, path_a: str, path_b: str) -> str:
    lines_a, lines_b = _text(a), _text(b)
    if lines_a is None or lines_b is None:
        return "binary or large files differ"
    old = f"a/{path_a}" if a is not None else "/dev/null"
    new = f"b/{path_b}" if b is not None else "/dev/null"
    diff = difflib.unified_diff(lines_a, lines_b, old, new)
    return "".join(line if line.endswith("\n") else line + "\n" for line in diff)
