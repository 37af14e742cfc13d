"""Tags added to and removed from runs after they started: an append-only log of tag events.

A run record is written once, so the tags given at ``run --tag`` live in it for good. Later
changes are *events*: every ``add_tag``/``remove_tag`` call stores one small object under a name
no other writer can pick, and a run's tags are its record's tags with its events replayed in
order. Nothing is ever rewritten, so concurrent writers (two notebooks, a CI job) cannot lose
each other's changes, and no backend needs conditional writes or read-modify-write::

    {flow}/tags/{run_id}/{time_ns:020d}-{token}.json    {"add": [...], "remove": [...], "user": ...}

Events are ordered by the writer's clock: when two people change *the same tag* of a run within
the clock skew of their machines, either order may win; changes to different tags never clash.
The flow-level folder keeps runs whose tags never changed free of any extra read: one listing
of ``{flow}/tags`` tells which runs have events.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable

from flowkit.datastore.storage import ByteStorage
from flowkit.errors import CorruptObject, TagError

MAX_TAG_LENGTH = 256


class TagLog:
    """The tag events of one flow's runs.

    Args:
        storage: The datastore root.
        flow_name: The flow class name.
    """

    def __init__(self, storage: ByteStorage, flow_name: str) -> None:
        self.storage = storage
        self.prefix = f"{flow_name}/tags"

    def __repr__(self) -> str:
        return f"TagLog({self.storage.url(self.prefix)!r})"

    def record(
        self, run_id: str, *, add: Iterable[str] = (), remove: Iterable[str] = (), user: str = ""
    ) -> None:
        """Store one event that adds and removes tags of a run (removals apply first).

        Args:
            run_id: The run; the caller checks that it exists.
            add: Tags to add.
            remove: Tags to remove.
            user: Who made the change, kept for the record.

        Raises:
            TagError: A tag is not a non-empty string of at most 256 printable characters.
        """
        added, removed = check_tags(add), check_tags(remove)
        if not added and not removed:
            return
        body = {"add": added, "remove": removed, "user": user, "at": time.time()}
        name = f"{time.time_ns():020d}-{secrets.token_hex(6)}.json"
        data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        self.storage.write(f"{self.prefix}/{run_id}/{name}", data)

    def runs_with_events(self) -> set[str]:
        """Return the ids of the runs whose tags were changed after they started."""
        return set(self.storage.list(self.prefix))

    def apply(self, run_id: str, tags: Iterable[str]) -> list[str]:
        """Return ``tags`` (a run record's tags) with the run's events replayed, sorted.

        Raises:
            CorruptObject: An event is not valid JSON.
        """
        current = set(tags)
        for name in self.storage.list(f"{self.prefix}/{run_id}"):
            if not name.endswith(".json"):
                continue
            raw = self.storage.read(f"{self.prefix}/{run_id}/{name}")
            try:
                event = json.loads(raw)
                current.difference_update(event.get("remove", []))
                current.update(event.get("add", []))
            except (ValueError, AttributeError, TypeError) as exc:
                raise CorruptObject(
                    f"the tag event {self.storage.url(f'{self.prefix}/{run_id}/{name}')} is "
                    f"not valid ({exc})",
                    hint="delete that file; the tags it changed return to their earlier state",
                ) from exc
        return sorted(current)


def check_tags(tags: Iterable[str]) -> list[str]:
    """Return the distinct tags, sorted, after checking each one.

    Raises:
        TagError: A tag is not a non-empty string of at most 256 printable characters.
    """
    if isinstance(tags, str):
        tags = [tags]
    checked = set()
    for tag in tags:
        if not isinstance(tag, str) or not tag or len(tag) > MAX_TAG_LENGTH:
            raise TagError(
                f"{tag!r} is not a valid tag",
                hint=f"a tag is a non-empty string of at most {MAX_TAG_LENGTH} characters",
            )
        if not tag.isprintable():
            raise TagError(
                f"the tag {tag!r} holds a control character", hint="use printable characters"
            )
        checked.add(tag)
    return sorted(checked)
