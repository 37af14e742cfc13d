"""Pathspecs: the ``Flow/run/step/task/artifact`` names users give client objects."""

from __future__ import annotations

from flowkit.errors import PathspecError

#: Kind of object -> an example of its pathspec; the position is the number of parts - 1.
KINDS = {
    "flow": "TrainFlow",
    "run": "TrainFlow/12",
    "step": "TrainFlow/12/train",
    "task": "TrainFlow/12/train/5",
    "artifact": "TrainFlow/12/train/5/accuracy",
}
_CLASSES = {
    "flow": "Flow",
    "run": "Run",
    "step": "Step",
    "task": "Task",
    "artifact": "DataArtifact",
}


def split_pathspec(pathspec: str, kind: str) -> list[str]:
    """Split ``pathspec`` into its parts, checking it names an object of ``kind``.

    Args:
        pathspec: E.g. ``"TrainFlow/12/train"``.
        kind: ``"flow"``, ``"run"``, ``"step"``, ``"task"`` or ``"artifact"``.

    Raises:
        PathspecError: It has the wrong number of parts or an empty part; the message says
            which class the pathspec would suit.
    """
    if not isinstance(pathspec, str):
        raise PathspecError(
            f"a {kind} is named by a string such as {KINDS[kind]!r}, not by {pathspec!r}"
        )
    parts = pathspec.strip("/").split("/")
    wanted = list(KINDS).index(kind) + 1
    if len(parts) == wanted and all(parts):
        return parts
    hint = f"name a {kind} like {KINDS[kind]!r}"
    if all(parts) and len(parts) <= len(KINDS):
        other = list(KINDS)[len(parts) - 1]
        hint += f"; {pathspec!r} names a {other}: use {_CLASSES[other]}({pathspec!r})"
    raise PathspecError(f"{pathspec!r} is not the pathspec of a {kind}", hint=hint)


def kind_of(pathspec: str) -> str:
    """Return which kind of object ``pathspec`` names, from its number of parts.

    Raises:
        PathspecError: It has an empty part or more parts than an artifact's.
    """
    parts = pathspec.strip("/").split("/")
    if not all(parts) or len(parts) > len(KINDS):
        raise PathspecError(
            f"{pathspec!r} is not a pathspec",
            hint="use Flow, Flow/run, Flow/run/step, Flow/run/step/task or "
            "Flow/run/step/task/artifact, e.g. " + KINDS["task"],
        )
    return list(KINDS)[len(parts) - 1]
