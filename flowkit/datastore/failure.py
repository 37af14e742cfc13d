"""Why a task attempt failed: a typed record whose ``kind`` drives the retry policy.

Decisions are taken on the kind, never on the text of a message: a user's message that happens
to mention a signal must not change what flowkit does with the failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FailureKind = Literal[
    "exception",
    "flow",
    "unpicklable",
    "storage",
    "timeout",
    "crashed",
    "interrupted",
    "killed",
    "lost",
    "submit",
    "gang",
]
"""Why a task attempt failed; the retry policy decides by kind, never by the message.

- ``exception``: the step's code raised.
- ``flow``: flowkit refused what the step did (``self.next`` misuse, a bad foreach ...).
- ``unpicklable``: an artifact could not be serialized.
- ``storage``: the datastore refused the task's results (the whole run stops).
- ``timeout``: ``@timeout`` (or the remote system's limit) stopped the task.
- ``crashed``: the task's process died before reporting (native crash, out of memory, exit).
- ``interrupted``: the task itself was sent SIGINT/SIGTERM (or raised ``KeyboardInterrupt``).
- ``killed``: flowkit stopped the task because the run was interrupted.
- ``lost``: a remote task's status could no longer be obtained.
- ``submit``: a remote task could not be submitted.
- ``gang``: flowkit stopped this task because another task of its ``@parallel`` gang failed.
"""

#: Kinds that mean a person stopped the task on purpose: never retried nor caught.
STOPPED_BY_USER: frozenset[str] = frozenset({"interrupted", "killed"})


@dataclass(frozen=True)
class Failure:
    """Why a task attempt failed.

    Attributes:
        kind: The category of the failure (see :data:`FailureKind`).
        type: Name of the exception class, or of the event (``"TaskTimeout"``, ``"Killed"``).
        message: One-line description.
        traceback: The user's traceback (or the message, when there is none).
    """

    kind: str  # a FailureKind; plain str so a kind added by a newer minor format still loads
    type: str
    message: str
    traceback: str = ""

    def to_dict(self) -> dict[str, str]:
        """The JSON form stored in manifests."""
        return {
            "kind": self.kind,
            "message": self.message,
            "traceback": self.traceback,
            "type": self.type,
        }
