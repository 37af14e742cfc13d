"""Pathspecs: parts, kinds, and errors that name the right class."""

from __future__ import annotations

import pytest

from flowkit.client.pathspec import kind_of, split_pathspec
from flowkit.errors import PathspecError


def test_split_and_kind():
    assert split_pathspec("F/1/s/2", "task") == ["F", "1", "s", "2"]
    assert split_pathspec("/F/1/", "run") == ["F", "1"]
    kinds = [kind_of(p) for p in ("F", "F/1", "F/1/s", "F/1/s/2", "F/1/s/2/x")]
    assert kinds == ["flow", "run", "step", "task", "artifact"]


@pytest.mark.parametrize("bad", ["F/1/s/2/x/y", "F//s", ""])
def test_kind_of_refuses_non_pathspecs(bad):
    with pytest.raises(PathspecError, match="is not a pathspec"):
        kind_of(bad)


def test_errors_suggest_the_matching_class():
    with pytest.raises(PathspecError) as info:
        split_pathspec("F/1/s/2", "run")
    message = info.value.format_message()
    assert "'F/1/s/2' is not the pathspec of a run" in message
    assert "use Task('F/1/s/2')" in message
    assert info.value.exit_code == 2 and isinstance(info.value, ValueError)
    with pytest.raises(PathspecError, match="not by 5"):
        split_pathspec(5, "run")  # type: ignore[arg-type]
