"""The flowkit exception tree.

Every error a user can cause derives from :class:`FlowkitError`. Library code raises these; the
CLI (the edge) turns them into a short message and an exit code, and shows a traceback only with
``--debug``. Each error says what happened, where (file and line when known) and what to do next.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class FlowkitError(Exception):
    """Base class of every error flowkit raises on purpose.

    Attributes:
        exit_code: The process exit code the CLI uses for this error.
        hint: One sentence telling the user what to do next (may be empty).
    """

    exit_code = 1
    headline = "flowkit error"

    def __init__(self, message: str, *, hint: str = "", location: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location

    def format_message(self) -> str:
        """Return the one-paragraph text shown to the user."""
        where = f"{self.location}: " if self.location else ""
        text = f"{where}{self.message}"
        if self.hint:
            text += f"\n  Fix: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.format_message()


class FlowDefinitionError(FlowkitError):
    """The flow's code is malformed (found by the static graph check)."""

    exit_code = 2
    headline = "malformed flow"


class FlowDefinitionErrors(FlowDefinitionError):
    """Several definition problems at once; each one is a :class:`FlowDefinitionError`."""

    def __init__(self, errors: list[FlowDefinitionError]) -> None:
        self.errors = errors
        super().__init__("\n".join(e.format_message() for e in errors))

    def format_message(self) -> str:
        return "\n".join(e.format_message() for e in self.errors)


class FlowSyntaxError(FlowDefinitionError):
    """The flow file (or a module it imports) is not valid Python."""

    headline = "syntax error"

    @classmethod
    def from_syntax_error(cls, exc: SyntaxError, shown_path: str = "") -> FlowSyntaxError:
        """The user-facing error for Python's ``exc``, pointing at its file and line.

        Args:
            exc: The ``SyntaxError`` (or ``IndentationError``) Python raised.
            shown_path: The file as the user should see it (default: ``exc.filename``).
        """
        where = f"{shown_path or exc.filename or '<unknown>'}:{exc.lineno or 0}"
        code = (exc.text or "").strip()
        hint = f"correct line {exc.lineno}: {code}" if code else "correct that line"
        return cls(exc.msg or "invalid syntax", hint=hint, location=where)


class FlowRuntimeError(FlowkitError):
    """A step broke a rule of the DSL while running (``next`` twice, empty foreach, ...)."""

    headline = "flow error"


class ParameterError(FlowkitError):
    """A parameter value (or declaration) is invalid."""

    exit_code = 2
    headline = "bad parameter"


class ArtifactError(FlowkitError):
    """An artifact cannot be stored or loaded."""

    headline = "artifact error"


class UnpicklableArtifact(ArtifactError, TypeError):
    """A value set on ``self`` cannot be serialized."""


class ArtifactNotFound(ArtifactError, KeyError):
    """An artifact name is not present on a task."""

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return self.format_message()


class MissingArtifactAttribute(ArtifactNotFound, AttributeError):
    """``task.data.name`` names no artifact; an ``AttributeError`` too, so ``hasattr`` works."""


class MergeConflict(ArtifactError):
    """``merge_artifacts`` found different values for one name in different branches."""


class DatastoreError(FlowkitError):
    """The datastore cannot be reached or holds something unexpected."""

    headline = "datastore error"


class ObjectNotFound(DatastoreError, KeyError):
    """A key or blob is missing from the datastore."""

    def __str__(self) -> str:
        return self.format_message()


class CorruptObject(DatastoreError):
    """A stored object is damaged: its bytes do not match their hash, or a record is malformed.

    Attributes:
        url: Where the object is (or was) stored, when known.
    """

    def __init__(self, message: str, *, hint: str = "", location: str = "", url: str = "") -> None:
        super().__init__(message, hint=hint, location=location)
        self.url = url


class CorruptRecord(CorruptObject):
    """A run record, end record or task manifest cannot be read; the message names the file."""

    headline = "unreadable record"


class BrokenArtifact(ArtifactError):
    """An artifact's stored value is damaged or gone.

    The message names the artifact, the task that produced it and where its bytes were stored;
    the hint says how to recompute it.

    Attributes:
        artifact: The artifact's name.
        producer: Pathspec of the task that produced it (or the run, for a parameter).
        url: Where its blob is (or was) stored.
    """

    headline = "damaged artifact"

    def __init__(
        self, message: str, *, hint: str = "", artifact: str = "", producer: str = "", url: str = ""
    ) -> None:
        super().__init__(message, hint=hint)
        self.artifact = artifact
        self.producer = producer
        self.url = url


class VerifyFailed(DatastoreError):
    """``flowkit verify`` found damaged objects (and did not repair all of them)."""

    headline = "verify failed"


class UnreadableRecordWarning(UserWarning):
    """A listing left out a run or task whose record is damaged (the message names the file)."""


class DatastoreUnavailable(DatastoreError):
    """The datastore cannot be used at all; a subclass says why and what to fix."""


class BucketNotFound(DatastoreUnavailable):
    """The bucket (or container) named by the datastore root does not exist."""


class DatastoreAccessDenied(DatastoreUnavailable):
    """The server refused the credentials, or they lack a permission the datastore needs."""


class CredentialsNotFound(DatastoreUnavailable):
    """No credentials were found for a datastore that needs them."""


class EndpointUnreachable(DatastoreUnavailable):
    """The storage server did not answer, even after retrying."""


class DatastoreWriteError(DatastoreError):
    """An object could not be stored: disk full, permission denied, read-only or unreachable
    storage.

    Attributes:
        url: The object that could not be written.
    """

    def __init__(self, message: str, *, url: str = "", hint: str = "", location: str = "") -> None:
        super().__init__(message, hint=hint, location=location)
        self.url = url


class ArtifactWriteError(DatastoreWriteError):
    """A task could not store one of its artifacts; the message names it and its object.

    ``str()`` is the message alone: a task records it as its failure, and the runner, which
    reports that failure, gives its own advice.
    """

    def __str__(self) -> str:
        return self.message


class RunNotFound(DatastoreError, KeyError):
    """A run, step or task that was asked for does not exist."""

    headline = "not found"

    def __str__(self) -> str:
        return self.format_message()


class RunFailed(FlowkitError):
    """A run ended with a failed task; the message names it and says how to resume."""

    headline = "run failed"


class RunKilled(FlowkitError):
    """A run was interrupted by the user (Ctrl-C) or stopped by a signal.

    The exit code follows the shell's convention, 128 + the signal's number: 130 for SIGINT
    (the default), 143 for SIGTERM, 129 for SIGHUP.
    """

    exit_code = 130
    headline = "run interrupted"

    def __init__(self, message: str, *, hint: str = "", signal_number: int = 2) -> None:
        super().__init__(message, hint=hint)
        self.exit_code = 128 + signal_number


class RunStorageFailed(RunFailed):
    """The datastore refused a write the run needed; the run stopped and (if it could still be
    written) was recorded as failed."""

    headline = "run stopped: datastore write failed"


class ConfigError(FlowkitError):
    """The configuration (environment, flags, config file) is invalid."""

    exit_code = 2
    headline = "configuration error"


class FlowNotFound(DatastoreError, KeyError):
    """No run of the flow asked for is recorded in the datastore."""

    headline = "unknown flow"

    def __str__(self) -> str:
        return self.format_message()


class PathspecError(FlowkitError, ValueError):
    """A pathspec (``Flow/run/step/task``) is malformed or names the wrong kind of object."""

    exit_code = 2
    headline = "bad pathspec"


class NamespaceMismatch(FlowkitError):
    """A run was asked for by name, but it is outside the namespace the client is set to."""

    headline = "outside the namespace"


class TagError(FlowkitError, ValueError):
    """A tag is invalid, or is a system tag that cannot be changed."""

    exit_code = 2
    headline = "bad tag"


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ' Did you mean "x"?' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f' Did you mean "{close[0]}"?' if close else ""
