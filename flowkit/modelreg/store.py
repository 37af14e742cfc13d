"""The registry: numbered immutable versions and an append-only log of alias moves.

No server and no lock: every write creates a new object under a number that no other writer
can also take (an exclusive write: a hard-link claim on a folder, ``If-None-Match: *`` on S3,
see :meth:`flowkit.datastore.storage.ByteStorage.write`). An alias's value is the replay of
its name's log, and a move is written as the log's next number, computed from the replay it
was checked against. If another writer took that number first, the writer reads the new
entries and checks again, so a compare-and-swap (``expect=``) either lands directly after the
state it saw or fails naming the version the alias holds now; no move is ever lost or
reordered, and ``history`` is the log read in order.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Final

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.storage import ByteStorage
from flowkit.errors import DatastoreError, ObjectNotFound, did_you_mean
from flowkit.modelreg.errors import (
    AliasConflict,
    ModelNotFound,
    RegistryError,
    VersionNotFound,
)
from flowkit.modelreg.records import (
    PREFIX,
    Kind,
    ModelVersion,
    RegistryEvent,
    check_alias,
    check_name,
    event_key,
    numbers_in,
    parse_version,
    split_ref,
    version_key,
)

# A writer that keeps losing the race for the next number gives up after this many tries
# (only reachable with hundreds of writers hammering one name at once).
_MAX_ATTEMPTS = 200


class _AnyVersion:
    """The type of :data:`ANY`: promote without a compare-and-swap check."""

    def __repr__(self) -> str:
        return "ANY"


#: ``expect=ANY`` (the default): move the alias whatever it points to now.
ANY: Final = _AnyVersion()


class Registry:
    """The model and data registry stored under one datastore root.

    Args:
        storage: The datastore root (the same one runs are stored in).
        user: Who is making changes (recorded with every version and move).

    Attributes:
        storage: The datastore root.
        user: Who is making changes.
    """

    def __init__(self, storage: ByteStorage, user: str = "") -> None:
        self.storage = storage
        self.user = user
        self._versions: dict[tuple[str, int], ModelVersion] = {}
        self._events: dict[str, dict[int, RegistryEvent]] = {}

    def __repr__(self) -> str:
        return f"Registry({self.storage.url(PREFIX)!r})"

    # -- reading ---------------------------------------------------------------------------

    def names(self, kind: Kind | None = None) -> list[str]:
        """Registered names, sorted; only models or only datasets with ``kind``."""
        names = [n for n in self.storage.list(PREFIX) if self._numbers(n)]
        if kind is None:
            return names
        return [n for n in names if self.kind_of(n) == kind]

    def kind_of(self, name: str) -> Kind:
        """Whether ``name`` is a model or a dataset (its first version says).

        Raises:
            ModelNotFound: Nothing is registered under ``name``.
        """
        numbers = self._numbers(check_name(name))
        if not numbers:
            raise self._not_found(name)
        return self.version(name, numbers[0]).kind

    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of ``name``, oldest first.

        Raises:
            ModelNotFound: Nothing is registered under ``name``.
        """
        numbers = self._numbers(check_name(name))
        if not numbers:
            raise self._not_found(name)
        return [self.version(name, n) for n in numbers]

    def version(self, name: str, number: int) -> ModelVersion:
        """Version ``number`` of ``name``.

        Raises:
            ModelNotFound: Nothing is registered under ``name``.
            VersionNotFound: ``name`` has no such version.
        """
        cached = self._versions.get((name, number))
        if cached is not None:
            return cached
        key = version_key(check_name(name), number)
        try:
            data = self.storage.read(key)
        except ObjectNotFound:
            numbers = self._numbers(name)
            if not numbers:
                raise self._not_found(name) from None
            raise VersionNotFound(
                f"{name} has no version v{number}; it has v1 to v{numbers[-1]}",
                hint=f"flowkit registry show {name} lists its versions",
            ) from None
        found = ModelVersion.from_json(data, f"registry version {self.storage.url(key)}")
        self._versions[(name, number)] = found
        return found

    def latest(self, name: str) -> ModelVersion:
        """The newest version of ``name`` (what ``name@latest`` names).

        Raises:
            ModelNotFound: Nothing is registered under ``name``.
        """
        numbers = self._numbers(check_name(name))
        if not numbers:
            raise self._not_found(name)
        return self.version(name, numbers[-1])

    def resolve(self, ref: str, kind: Kind | None = None) -> ModelVersion:
        """The version ``ref`` names: ``churn`` or ``churn@latest`` (newest), ``churn@v3``,
        ``churn@champion`` (an alias).

        Args:
            ref: The reference.
            kind: Require a model or a dataset (``Model("orders")`` of a dataset fails).

        Raises:
            ModelNotFound: Nothing is registered under the name (with did-you-mean).
            VersionNotFound: No such version, or the alias is not set (naming the aliases).
            RegistryError: ``kind`` was given and the name is of the other kind.
        """
        name, selector = split_ref(ref)
        number = parse_version(selector) if selector.startswith("v") else None
        if selector == "latest":
            found = self.latest(name)
        elif number is not None:
            found = self.version(name, number)
        else:
            aliases = self.aliases(name)
            if selector not in aliases:
                self.latest(name)  # an unknown name is reported as such
                known = ", ".join(f"{a} (v{v})" for a, v in sorted(aliases.items()))
                raise VersionNotFound(
                    f"{name} has no alias {selector!r}."
                    + did_you_mean(selector, [*aliases, "latest"]),
                    hint=f"use one of: {known or 'no alias is set yet'}, latest, or a version "
                    f"such as {name}@v1; set one with "
                    f"flowkit registry promote {name} v1 --alias {selector}",
                )
            found = self.version(name, aliases[selector])
        if kind is not None and found.kind != kind:
            opener = "flowkit.Dataset" if found.kind == "dataset" else "flowkit.Model"
            raise RegistryError(
                f"{name} is registered as a {found.kind}, not a {kind}",
                hint=f"open it with {opener}({ref!r})",
            )
        return found

    def events(self, name: str) -> list[RegistryEvent]:
        """The log of ``name`` in order: every alias move and tag change."""
        cache = self._events.setdefault(check_name(name), {})
        seqs = numbers_in(self.storage.list(f"{PREFIX}/{name}/log"))
        missing = [seq for seq in seqs if seq not in cache]
        # Events never change, so only new ones are read; a fresh reader of a long log on S3
        # reads them several at a time.
        workers = min(self.storage.concurrency, len(missing))
        if workers > 1:
            with ThreadPoolExecutor(workers) as pool:
                read = pool.map(lambda seq: self._read_event(name, seq), missing)
                cache.update(zip(missing, read, strict=True))
        else:
            cache.update((seq, self._read_event(name, seq)) for seq in missing)
        return [cache[seq] for seq in seqs]

    def _read_event(self, name: str, seq: int) -> RegistryEvent:
        key = event_key(name, seq)
        return RegistryEvent.from_json(
            self.storage.read(key), f"registry event {self.storage.url(key)}"
        )

    def aliases(self, name: str) -> dict[str, int]:
        """Where each alias of ``name`` points now (``latest`` is implied, not listed)."""
        return _replay(self.events(name))

    def history(self, name: str, alias: str | None = None) -> list[RegistryEvent]:
        """Every alias move of ``name`` (of ``alias`` only, when given), oldest first."""
        return [
            e
            for e in self.events(name)
            if e.kind == "alias" and (alias is None or e.alias == alias)
        ]

    def tags(self, version: ModelVersion) -> dict[str, str]:
        """The version's tags now: those it was registered with, with later changes applied."""
        tags = dict(version.tags)
        for event in self.events(version.name):
            if event.kind == "tag" and event.version == version.number:
                for key in event.unset_tags:
                    tags.pop(key, None)
                tags.update(event.set_tags)
        return tags

    def load(self, version: ModelVersion) -> Any:
        """The version's value, read from the producing flow's artifact blob.

        Raises:
            BrokenArtifact: The blob is missing or damaged (the message says which task made it).
        """
        store = FlowDatastore(self.storage, version.flow)
        return store.load_artifact(version.sha, name=version.artifact or version.ref)

    # -- writing ---------------------------------------------------------------------------

    def add_version(self, draft: ModelVersion) -> ModelVersion:
        """Store ``draft`` as the next version of its name (its ``number`` is replaced).

        Raises:
            RegistryError: The name is registered as the other kind, or the value's blob is
                not in the producing flow's datastore.
        """
        name = check_name(draft.name)
        if not FlowDatastore(self.storage, draft.flow).content.exists(draft.sha):
            raise RegistryError(
                f"the value to register ({draft.sha[:12]}) is not stored in the datastore "
                f"{self.storage.root} under the flow {draft.flow}",
                hint="register artifacts of runs stored in this datastore",
            )
        for _ in range(_MAX_ATTEMPTS):
            numbers = self._numbers(name)
            if numbers and self.version(name, numbers[0]).kind != draft.kind:
                raise RegistryError(
                    f"{name} is registered as a {self.version(name, numbers[0]).kind}; "
                    f"it cannot get a {draft.kind} version",
                    hint="register it under another name",
                )
            record = replace(draft, number=(numbers[-1] + 1) if numbers else 1)
            if self.storage.write(
                version_key(name, record.number), record.to_json(), exclusive=True
            ):
                self._versions[(name, record.number)] = record
                return record
            _back_off()
        raise self._too_busy(name)

    def promote(
        self,
        name: str,
        version: int,
        alias: str,
        *,
        expect: int | _AnyVersion | None = ANY,
        note: str = "",
        reason: str = "promote",
    ) -> RegistryEvent:
        """Point ``alias`` of ``name`` at ``version``: a new entry of the log.

        Args:
            name: The registered name.
            version: The version number to point at.
            alias: The alias to move (not ``latest`` nor ``vN``).
            expect: Compare-and-swap: the version the alias must point to now (``None``: it
                must be unset); :data:`ANY` skips the check.
            note: A sentence kept with the move.
            reason: What the move is, kept in the history (``promote``, ``rollback``).

        Returns:
            The move as stored (its ``seq`` is its place in the history).

        Raises:
            VersionNotFound: ``version`` does not exist.
            AliasConflict: ``expect`` was given and the alias points elsewhere; the message
                names where.
        """
        check_alias(alias)
        self.version(check_name(name), version)  # must exist
        return self._append(name, alias, version, expect, note, reason)

    def rollback(
        self, name: str, alias: str, *, to: int | None = None, note: str = ""
    ) -> RegistryEvent:
        """Move ``alias`` back: to ``to``, or to where it pointed before its last move.

        A rollback is a new move (``reason="rollback"``), checked against the alias's current
        version like ``promote(expect=...)``; nothing in the history is edited.

        Raises:
            VersionNotFound: The alias has never been moved, or has no earlier version.
            AliasConflict: The alias moved while the rollback was being written.
        """
        check_alias(alias)
        moves = self.history(check_name(name), alias)
        if not moves:
            self.latest(name)
            raise VersionNotFound(
                f"{name}@{alias} has never been set, so there is nothing to roll back",
                hint=f"flowkit registry history {name} shows the moves of every alias",
            )
        now = moves[-1].version
        target = to if to is not None else moves[-1].previous
        if target is None:
            raise VersionNotFound(
                f"{name}@{alias} had no version before v{now}",
                hint=f"name the version to go back to: flowkit registry rollback {name} "
                f"--alias {alias} --to vN",
            )
        self.version(name, target)
        return self._append(name, alias, target, now, note, "rollback")

    def tag(
        self,
        name: str,
        version: int,
        *,
        set_tags: Mapping[str, str] | None = None,
        unset: Iterable[str] = (),
    ) -> RegistryEvent:
        """Change tags of a version (a log event; the version record itself never changes)."""
        self.version(check_name(name), version)
        draft = RegistryEvent(
            seq=0,
            kind="tag",
            user=self.user,
            at=0.0,
            version=version,
            reason="tag",
            set_tags={str(k): str(v) for k, v in (set_tags or {}).items()},
            unset_tags=sorted(set(unset)),
        )
        for _ in range(_MAX_ATTEMPTS):
            seq = self._next_seq(name)
            event = replace(draft, seq=seq, at=time.time())
            if self._write_event(name, event):
                return event
            _back_off()
        raise self._too_busy(name)

    def _append(
        self,
        name: str,
        alias: str,
        version: int,
        expect: int | _AnyVersion | None,
        note: str,
        reason: str,
    ) -> RegistryEvent:
        for _ in range(_MAX_ATTEMPTS):
            events = self.events(name)
            current = _replay(events).get(alias)
            if not isinstance(expect, _AnyVersion) and current != expect:
                raise AliasConflict(
                    f"{name}@{alias} points to {_label(current)}, not {_label(expect)} as "
                    "expected: someone moved it first; nothing was changed",
                    current=current,
                    hint=f"look at flowkit registry history {name}@{alias}, then retry with "
                    f"--expect {_label(current)} if the move still makes sense",
                )
            event = RegistryEvent(
                seq=(events[-1].seq + 1) if events else 1,
                kind="alias",
                user=self.user,
                at=time.time(),
                alias=alias,
                version=version,
                previous=current,
                reason=reason,
                note=note,
            )
            if self._write_event(name, event):
                return event
            _back_off()  # another writer took the number: read what it wrote, check again
        raise self._too_busy(name)

    def _write_event(self, name: str, event: RegistryEvent) -> bool:
        if not self.storage.write(event_key(name, event.seq), event.to_json(), exclusive=True):
            return False
        self._events.setdefault(name, {})[event.seq] = event
        return True

    def _next_seq(self, name: str) -> int:
        seqs = numbers_in(self.storage.list(f"{PREFIX}/{name}/log"))
        return (seqs[-1] + 1) if seqs else 1

    # -- helpers ---------------------------------------------------------------------------

    def _numbers(self, name: str) -> list[int]:
        return numbers_in(self.storage.list(f"{PREFIX}/{name}/versions"))

    def _not_found(self, name: str) -> ModelNotFound:
        known = [n for n in self.storage.list(PREFIX) if n != name]
        return ModelNotFound(
            f"nothing is registered as {name!r} in {self.storage.root}."
            + did_you_mean(name, known),
            hint="registered names: "
            + (", ".join(known) if known else "none yet")
            + "; register one with current.registry.register(...) in a step or "
            "flowkit registry register",
        )

    def _too_busy(self, name: str) -> DatastoreError:
        return DatastoreError(
            f"gave up writing to the registry of {name} after {_MAX_ATTEMPTS} tries: other "
            "writers kept taking the next number",
            hint="retry; if it persists, check that the datastore honours exclusive writes",
        )


def _replay(events: list[RegistryEvent]) -> dict[str, int]:
    aliases: dict[str, int] = {}
    for event in events:
        if event.kind != "alias" or event.alias is None:
            continue
        if event.version is None:
            aliases.pop(event.alias, None)
        else:
            aliases[event.alias] = event.version
    return aliases


def _label(version: int | _AnyVersion | None) -> str:
    return "nothing" if version is None else f"v{version}"


def _back_off() -> None:
    # Contenders that lost the same number retry at slightly different times.
    time.sleep(random.uniform(0.001, 0.02))
