"""``inputs`` of a join step: the joined branches, by position and by step name."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from flowkit.errors import FlowRuntimeError, did_you_mean


class Inputs(Sequence[Any]):
    """The branches a join step joins.

    Iterating or indexing gives read-only views of each branch's task, on which artifacts read like
    on ``self``. For a static split, ``inputs.step_name`` gives the branch that ended in that step.
    """

    def __init__(self, views: list[Any]) -> None:
        self._views = views

    def __len__(self) -> int:
        return len(self._views)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._views)

    def __getitem__(self, index: Any) -> Any:
        return self._views[index]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        names = [v._fk_state.step_name for v in self._views]
        for view, step_name in zip(self._views, names, strict=True):
            if step_name == name:
                return view
        joined = ", ".join(sorted(set(names)))
        raise FlowRuntimeError(
            f"inputs has no branch {name!r}; the joined branches are {joined}."
            + did_you_mean(name, names),
            hint="use inputs.<step name> for a branch of a static split, or iterate over inputs",
        )

    def __repr__(self) -> str:
        names = [v._fk_state.step_name for v in self._views]
        return f"<inputs of {len(self)} branches: {', '.join(names)}>"
