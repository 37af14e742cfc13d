"""``.flowkitignore``: which files of a project the code snapshot leaves out (gitignore syntax).

Supported, as in git: ``#`` comments, blank lines, ``!`` to re-include, a leading or middle
``/`` to anchor a pattern to the project folder (otherwise it matches at any depth), a trailing
``/`` to match folders only, ``*``, ``?``, ``[abc]`` / ``[!abc]``, ``**`` for any number of
folders, and ``\\`` to escape a leading ``#`` or ``!``. As in git, a file inside an ignored folder
cannot be re-included (the folder is not even entered). Written here rather than taken from a
dependency because it is ~80 lines and the snapshot is on every run's path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

IGNORE_FILE = ".flowkitignore"


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool


def _translate(pattern: str) -> str:
    """A gitignore glob (without anchoring or trailing ``/``) as a regular expression."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                out.append(re.escape("["))
                i += 1
                continue
            body = pattern[i + 1 : end]
            if body[0] in "!^":
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        elif pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def _parse(line: str) -> _Rule | None:
    line = line.rstrip("\n").rstrip("\r")
    if not line.endswith("\\ "):
        line = line.rstrip(" ")
    if not line or line.startswith("#"):
        return None
    negated = line.startswith("!")
    if negated or line.startswith(("\\#", "\\!")):
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/")
    prefix = "^" if anchored else "^(?:.*/)?"
    return _Rule(re.compile(prefix + _translate(line) + "$"), negated, dir_only)


class IgnoreRules:
    """The rules of one ignore file, matched against ``/``-separated paths relative to it.

    Args:
        lines: The file's lines.
    """

    def __init__(self, lines: list[str]) -> None:
        self._rules = [rule for rule in map(_parse, lines) if rule is not None]

    @classmethod
    def for_folder(cls, folder: Path) -> IgnoreRules:
        """The rules of ``folder/.flowkitignore`` (none when there is no such file)."""
        path = folder / IGNORE_FILE
        try:
            return cls(path.read_text(encoding="utf-8", errors="replace").splitlines())
        except (FileNotFoundError, IsADirectoryError):
            return cls([])

    def ignored(self, path: str, is_dir: bool) -> bool:
        """Whether ``path`` is left out; the last rule that matches decides."""
        result = False
        for rule in self._rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.regex.match(path):
                result = not rule.negated
        return result
