"""The environment a run started in: Python, platform and installed distributions.

Recorded so a past run can be reproduced and two runs compared. The record is canonical JSON
(sorted keys, no spaces) stored as a content-addressed blob of the flow, so an environment shared
by many runs is stored once; the run record names it by ``environment_sha``.

Reading every installed distribution's metadata takes milliseconds to tens of milliseconds, so
the result is remembered twice over:

- in this process, keyed by a *fingerprint* of the environment;
- in the datastore, as a memo ``{flow}/environments/{fingerprint}`` naming the blob, so the
  next run started from the same environment (a new process) skips the reading too.

The fingerprint is the interpreter (version, executable, host) and the modification time of
every folder holding an installed distribution: installing, upgrading or removing a
distribution creates or deletes its ``*.dist-info`` folder, which changes its parent folder's
time, so a stale memo is never used. Editing a distribution's metadata file in place is not
noticed; no installer does that.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import socket
import sys
from dataclasses import dataclass, field
from typing import Any

from flowkit.datastore.content import ContentStore
from flowkit.datastore.format import FORMAT_VERSION, VERSION_KEY, check_readable
from flowkit.datastore.storage import ByteStorage
from flowkit.errors import CorruptObject, ObjectNotFound

_MEMO_FOLDER = "environments"
# Fingerprint -> (blob name, canonical bytes) of the environments seen by this process.
_SEEN: dict[str, tuple[str, bytes]] = {}
# The memos this process wrote or found (their URLs): their blobs are known to be stored.
_RECORDED: set[str] = set()


@dataclass(frozen=True)
class RunEnvironment:
    """Where a run started: interpreter, platform and installed distributions.

    Attributes:
        python: Python version, e.g. ``"3.11.7"``.
        implementation: ``"CPython"``, ``"PyPy"`` ...
        platform: The platform string, e.g. ``"Linux-6.1.0-x86_64-with-glibc2.36"``.
        system: The operating system, e.g. ``"Linux"``, ``"Darwin"``, ``"Windows"``.
        machine: The processor architecture, e.g. ``"x86_64"``, ``"arm64"``.
        packages: Installed distribution name -> version, as ``pip freeze`` would name them.
    """

    python: str
    implementation: str
    platform: str
    system: str
    machine: str
    packages: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> bytes:
        """The canonical JSON form: equal environments are equal bytes."""
        raw: dict[str, Any] = dict(self.__dict__)
        raw[VERSION_KEY] = FORMAT_VERSION
        return json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()

    def to_dict(self) -> dict[str, Any]:
        """The environment, JSON-ready (packages sorted by name)."""
        raw: dict[str, Any] = dict(self.__dict__)
        raw["packages"] = dict(sorted(self.packages.items()))
        return raw

    @classmethod
    def from_json(cls, data: bytes | bytearray) -> RunEnvironment:
        """Parse the output of :meth:`to_json`.

        Raises:
            CorruptObject: ``data`` is not an environment record.
            FormatTooNew: It was written in a newer major format.
        """
        try:
            raw = json.loads(bytes(data).decode())
        except ValueError as exc:
            raise CorruptObject(f"the environment record is not valid JSON ({exc})") from exc
        if not isinstance(raw, dict):
            raise CorruptObject("the environment record is not a JSON object")
        check_readable(raw, "environment record")
        text = ("python", "implementation", "platform", "system", "machine")
        values = {name: raw.get(name, "") for name in text}
        packages = raw.get("packages", {})
        if not all(isinstance(v, str) for v in values.values()) or not (
            isinstance(packages, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in packages.items())
        ):
            raise CorruptObject("the environment record holds a value of the wrong type")
        return cls(packages=dict(packages), **values)


def current_environment() -> RunEnvironment:
    """Describe this interpreter's environment (reads every installed distribution)."""
    return RunEnvironment(
        python=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=platform.platform(),
        system=platform.system(),
        machine=platform.machine(),
        packages=installed_distributions(),
    )


def installed_distributions() -> dict[str, str]:
    """Name -> version of every distribution importable from ``sys.path``.

    When one name is installed twice, the first on ``sys.path`` wins, as for imports. Only the
    header of each metadata file is read: parsing whole files (long descriptions) costs ten
    times more.
    """
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        try:
            name, version = _name_and_version(dist)
        except (OSError, UnicodeDecodeError):
            continue  # an unreadable metadata file does not stop a run from starting
        if name and name not in found:
            found[name] = version
    return found


def record_environment(storage: ByteStorage, content: ContentStore, flow_name: str) -> str:
    """Store the current environment once (as a blob of the flow) and return its blob name.

    Costs a fingerprint (a few ``stat`` calls), a memo read and an existence check when this
    environment was recorded before; reads the installed distributions otherwise.

    Args:
        storage: The datastore root.
        content: The flow's blobs.
        flow_name: The flow, whose folder holds the memo.
    """
    fingerprint = environment_fingerprint()
    memo_key = f"{flow_name}/{_MEMO_FOLDER}/{fingerprint}"
    memo_url = storage.url(memo_key)
    seen = _SEEN.get(fingerprint)
    if seen is not None and memo_url in _RECORDED:
        return seen[0]
    if seen is None:
        remembered = _read_memo(storage, memo_key)
        if remembered is not None and content.exists(remembered):
            _RECORDED.add(memo_url)
            return remembered
        data = current_environment().to_json()
    else:
        data = seen[1]
    sha = content.put([data])
    _SEEN[fingerprint] = (sha, data)
    storage.write(memo_key, sha.encode())  # after the blob: a memo never names a missing blob
    _RECORDED.add(memo_url)
    return sha


def environment_fingerprint() -> str:
    """A digest that changes whenever the interpreter or an installed distribution changes."""
    folders: dict[str, int] = {}
    for dist in importlib.metadata.distributions():
        folder = str(dist.locate_file(""))
        if folder not in folders:
            try:
                folders[folder] = os.stat(folder).st_mtime_ns
            except OSError:
                folders[folder] = -1
    key = [sys.version, sys.executable, socket.gethostname(), sorted(folders.items())]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


def _read_memo(storage: ByteStorage, key: str) -> str | None:
    try:
        text = bytes(storage.read(key)).decode("ascii", "replace").strip()
    except ObjectNotFound:
        return None
    # A torn or foreign memo is only a missed shortcut.
    return text if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else None


def _name_and_version(dist: importlib.metadata.Distribution) -> tuple[str, str]:
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    name = version = ""
    for line in text.splitlines():
        if not line:
            break  # the headers end at the first blank line
        if line.startswith("Name:"):
            name = line[5:].strip()
        elif line.startswith("Version:"):
            version = line[8:].strip()
    return name, version
