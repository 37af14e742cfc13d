"""The version of the storage format, and the check every reader makes before trusting a record.

Every record flowkit writes (task manifests, run records, blob headers) says which format wrote
it, as ``"MAJOR.MINOR"``:

- a MINOR bump only adds optional fields: an older reader ignores what it does not know, so
  records stay readable both ways;
- a MAJOR bump is incompatible: a reader meeting a major newer than its own stops with
  :class:`FormatTooNew` ("written by flowkit X.Y: upgrade") instead of misreading the data.

JSON records also carry ``written_by``, the flowkit version that wrote them, so the error can name
the version to upgrade to. Records from before the format was versioned carry neither and are
read as format ``0.0`` (their layout is a subset of format 1).

See ``tutorials/storage-format.md`` for the layout of every record.
"""

from __future__ import annotations

from typing import Any

from flowkit.errors import CorruptObject, DatastoreError

FORMAT_MAJOR = 1
FORMAT_MINOR = 0
FORMAT_VERSION = f"{FORMAT_MAJOR}.{FORMAT_MINOR}"
"""The format this flowkit writes, as stored in records' ``format_version`` field."""

VERSION_KEY = "format_version"
WRITER_KEY = "written_by"


class FormatTooNew(DatastoreError):
    """A record was written in a newer major storage format than this flowkit can read."""

    headline = "datastore written by a newer flowkit"


def writer_version() -> str:
    """Return the version of the flowkit writing records (``flowkit.__version__``)."""
    from flowkit import __version__

    return __version__


def version_fields() -> dict[str, str]:
    """The two fields every JSON record carries: its format and the flowkit that wrote it."""
    return {VERSION_KEY: FORMAT_VERSION, WRITER_KEY: writer_version()}


def parse_version(text: Any, what: str = "record") -> tuple[int, int]:
    """Return ``(major, minor)`` of a stored ``"MAJOR.MINOR"`` format version.

    Raises:
        CorruptObject: ``text`` is not of the form ``"1.0"``.
    """
    if isinstance(text, str):
        major, dot, minor = text.partition(".")
        if dot and major.isdigit() and minor.isdigit():
            return int(major), int(minor)
    raise CorruptObject(f'the {what}\'s {VERSION_KEY} must look like "1.0", not {text!r}')


def check_readable(raw: dict[str, Any], what: str) -> tuple[int, int]:
    """Check that a parsed JSON record can be read by this flowkit.

    Args:
        raw: The record as parsed from JSON.
        what: What the record is, for the message (``"task manifest"``, ``"run record"``).

    Returns:
        The record's ``(major, minor)`` format; ``(0, 0)`` for records from before versioning.

    Raises:
        FormatTooNew: The record's major format is newer than this flowkit's.
        CorruptObject: The version field is malformed.
    """
    if VERSION_KEY not in raw:
        return (0, 0)
    version = parse_version(raw[VERSION_KEY], what)
    check_major(version, what, raw.get(WRITER_KEY))
    return version


def check_major(version: tuple[int, int], what: str, writer: Any = None) -> None:
    """Raise :class:`FormatTooNew` when ``version``'s major is newer than this flowkit's.

    Args:
        version: ``(major, minor)`` of the stored object.
        what: What the object is, for the message.
        writer: The flowkit version that wrote it, when the object records it.
    """
    if version[0] <= FORMAT_MAJOR:
        return
    if isinstance(writer, str) and writer:
        by = f"flowkit {_major_minor(writer)}"
    else:
        by = "a newer flowkit"
    raise FormatTooNew(
        f"this {what} was written by {by}: upgrade (it uses storage format "
        f"{version[0]}.{version[1]}; flowkit {_major_minor(writer_version())} reads format "
        f"{FORMAT_MAJOR} and older)",
        hint=f"upgrade flowkit (pip install -U flowkit) to read data written by {by}",
    )


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])
