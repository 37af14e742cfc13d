"""What the registry stores: immutable version records and the events of its log.

Layout under the datastore root (beside the flows; ``.registry`` is never a flow name)::

    .registry/{name}/versions/{number:08d}.json   one ModelVersion, created once, never changed
    .registry/{name}/log/{seq:010d}.json          one RegistryEvent: an alias move or tag change

Both folders are append-only: every object is created with an exclusive write (``O_EXCL``-like
hard link locally, ``If-None-Match: *`` on S3), so two writers can never take the same number.
An alias's value is the replay of the log; a move is accepted only when written as the next
number of the log, which is what makes ``--expect`` a compare-and-swap (see
:mod:`flowkit.modelreg.store`). Records carry ``format`` so later readers know what wrote them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from flowkit.datastore import recordjson
from flowkit.datastore.format import FormatTooNew
from flowkit.datastore.format import parse_version as parse_format
from flowkit.modelreg.errors import InvalidRegistryName

#: The format of version and event records; bump the minor number for added fields, the major
#: one when an older reader would misread a record.
REGISTRY_FORMAT = "1.0"
_REGISTRY_MAJOR = 1
PREFIX = ".registry"
RESERVED_ALIASES = ("latest",)

Kind = Literal["model", "dataset"]
EventKind = Literal["alias", "tag"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_VERSION = re.compile(r"^v([1-9][0-9]*)$")


@dataclass(frozen=True)
class ModelVersion:
    """One immutable version of a registered model or dataset.

    Attributes:
        name: The registered name, e.g. ``"churn"``.
        number: The version number (``v3`` is 3); numbers start at 1 and are never reused.
        kind: ``"model"`` or ``"dataset"``.
        sha: Content hash of the serialized value: the name of the artifact blob that is
            already in the producing flow's datastore (nothing is copied).
        type: Qualified type name of the value.
        size: Size of the serialized value in bytes.
        flow: The producing flow's name (its blobs hold the value).
        pathspec: The producing task, ``Flow/run/step/task``.
        artifact: The artifact's name in that task (``None``: the value was registered from a
            step without being kept as an artifact).
        code_sha: Blob name of the producing run's code snapshot, if one was stored.
        parameters: The producing run's parameters, name to printable value.
        inputs: The input artifacts the task could read: one entry per parent task,
            ``{"task": pathspec, "artifacts": {name: sha}}``.
        datasets: The datasets the task read (catalog lineage: dicts with ``dataset``,
            ``type``, ``location``, ``content_hash``, ...), when recorded.
        metrics: Free-form numbers and strings given when registering.
        tags: Key-value tags given when registering (later changes are log events).
        user: Who registered it.
        created_at: When, in seconds since the epoch.
        description: A free-form sentence.
        format: The record format that wrote it.
    """

    name: str
    number: int
    kind: Kind
    sha: str
    type: str
    size: int
    flow: str
    pathspec: str
    artifact: str | None
    user: str
    created_at: float
    code_sha: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    datasets: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    description: str = ""
    format: str = REGISTRY_FORMAT

    @property
    def label(self) -> str:
        """``"v3"``."""
        return f"v{self.number}"

    @property
    def ref(self) -> str:
        """``"churn@v3"``: the reference that always names this version."""
        return f"{self.name}@{self.label}"

    @property
    def run_pathspec(self) -> str:
        """The producing run, ``Flow/run``."""
        return "/".join(self.pathspec.split("/")[:2])

    @property
    def run_id(self) -> str:
        """The producing run's id."""
        return self.pathspec.split("/")[1]

    @property
    def step(self) -> str:
        """The producing step's name."""
        return self.pathspec.split("/")[2]

    @property
    def task_id(self) -> str:
        """The producing task's id."""
        return self.pathspec.split("/")[3]

    @property
    def created(self) -> datetime:
        """``created_at`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.created_at, tz=timezone.utc)

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON-able data."""
        return asdict(self)

    def to_json(self) -> bytes:
        """The canonical JSON form that is stored."""
        return recordjson.dump(asdict(self))

    @classmethod
    def from_json(cls, data: bytes | bytearray, what: str) -> ModelVersion:
        """Parse a stored record.

        Raises:
            CorruptObject: It is not a valid version record.
        """
        return recordjson.build(cls, _readable(recordjson.load(data, what), what))


@dataclass(frozen=True)
class RegistryEvent:
    """One entry of a name's log: an alias move or a tag change, never edited afterwards.

    Attributes:
        seq: Position in the log (1, 2, ...); gives the order of every move and change.
        kind: ``"alias"`` (a move of ``alias``) or ``"tag"`` (tags of ``version`` changed).
        user: Who made the change.
        at: When, in seconds since the epoch (the writer's clock; ``seq`` is the order).
        alias: For a move: the alias moved.
        version: For a move, the version the alias points to after it (``None``: removed);
            for a tag change, the version whose tags changed.
        previous: For a move, the version the alias pointed to before (``None``: unset).
        reason: ``"promote"`` or ``"rollback"`` for moves, ``"tag"`` for tag changes.
        set_tags: Tags set by a tag change.
        unset_tags: Tag keys removed by a tag change.
        note: A free-form sentence (``--note``).
        format: The record format that wrote it.
    """

    seq: int
    kind: EventKind
    user: str
    at: float
    alias: str | None = None
    version: int | None = None
    previous: int | None = None
    reason: str = ""
    set_tags: dict[str, str] = field(default_factory=dict)
    unset_tags: list[str] = field(default_factory=list)
    note: str = ""
    format: str = REGISTRY_FORMAT

    @property
    def when(self) -> datetime:
        """``at`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.at, tz=timezone.utc)

    def to_dict(self) -> dict[str, Any]:
        """The event as plain JSON-able data."""
        return asdict(self)

    def to_json(self) -> bytes:
        """The canonical JSON form that is stored."""
        return recordjson.dump(asdict(self))

    @classmethod
    def from_json(cls, data: bytes | bytearray, what: str) -> RegistryEvent:
        """Parse a stored event.

        Raises:
            CorruptObject: It is not a valid event record.
        """
        return recordjson.build(cls, _readable(recordjson.load(data, what), what))


def _readable(raw: dict[str, Any], what: str) -> dict[str, Any]:
    """``raw``, unless a newer flowkit wrote it in a format this one would misread.

    Raises:
        FormatTooNew: The record's major format is newer than this flowkit's.
        CorruptObject: The format field is malformed.
    """
    major, minor = parse_format(raw.get("format", REGISTRY_FORMAT), what)
    if major > _REGISTRY_MAJOR:
        raise FormatTooNew(
            f"the {what} uses registry format {major}.{minor}; this flowkit reads format "
            f"{_REGISTRY_MAJOR} and older",
            hint="upgrade flowkit (pip install -U flowkit) to read it",
        )
    return raw


def version_key(name: str, number: int) -> str:
    """Key of a version record."""
    return f"{PREFIX}/{name}/versions/{number:08d}.json"


def event_key(name: str, seq: int) -> str:
    """Key of a log event."""
    return f"{PREFIX}/{name}/log/{seq:010d}.json"


def numbers_in(names: list[str]) -> list[int]:
    """The numbers of listed record names (``00000003.json`` -> 3), sorted; others ignored."""
    found = []
    for entry in names:
        stem, dot, ext = entry.partition(".")
        if dot and ext == "json" and stem.isdigit():
            found.append(int(stem))
    return sorted(found)


def check_name(name: str) -> str:
    """``name`` if it can name a model or dataset.

    Raises:
        InvalidRegistryName: It cannot.
    """
    if not _NAME.match(name or ""):
        raise InvalidRegistryName(
            f"{name!r} cannot name a registered model or dataset",
            hint="use letters, digits, '_', '.' and '-' (up to 128), starting with a letter "
            "or digit, e.g. churn or orders-2024",
        )
    return name


def check_alias(alias: str) -> str:
    """``alias`` if it can be moved by promote and rollback.

    Raises:
        InvalidRegistryName: It is malformed, reserved (``latest``) or a version (``v3``).
    """
    if alias in RESERVED_ALIASES or _VERSION.match(alias):
        raise InvalidRegistryName(
            f"the alias {alias!r} cannot be moved: "
            + (
                "'latest' always names the newest version"
                if alias == "latest"
                else "names like v3 always name that version"
            ),
            hint="pick another alias, such as champion, staging or prod",
        )
    if not _ALIAS.match(alias or ""):
        raise InvalidRegistryName(
            f"{alias!r} cannot be an alias",
            hint="use lowercase letters, digits, '_' and '-', starting with a letter "
            "(e.g. champion)",
        )
    return alias


def parse_version(text: str) -> int | None:
    """``"v3"`` or ``"3"`` -> 3; anything else -> ``None``."""
    match = _VERSION.match(text)
    if match:
        return int(match.group(1))
    return int(text) if text.isdigit() and int(text) > 0 else None


def split_ref(ref: str) -> tuple[str, str]:
    """``"churn@champion"`` -> ``("churn", "champion")``; ``"churn"`` -> ``("churn", "latest")``.

    Raises:
        InvalidRegistryName: The name part is malformed.
    """
    name, _, selector = ref.partition("@")
    return check_name(name), selector or "latest"
