"""One flow's run records: allocating run ids, the start and end records, leases, listing.

A run is recorded in two objects under ``{flow}/runs/{run_id}/``:

- ``run.json``, the start record, created exclusively: creating it claims the run id, so runners
  started at the same moment against one datastore get distinct ids. It is never rewritten.
- ``end.json``, written once when the run finishes. Since format 1 it is the *complete* record
  (the start record with the final status, end time and summary), so a finished run is read
  from this one object; a run that is still running, or whose runner died, has only
  ``run.json``. Each object is written whole and atomically, so a reader sees either the start
  record or the complete one, never a mix.

Reading a run therefore costs one object: ``end.json`` when it exists, else ``run.json``. Runs
written before format 1 have an ``end.json`` holding only the end fields; they cost a second
read, of ``run.json``, and read as before.

Every record says which format wrote it (``format_version``, ``written_by``); a record from a
newer major format stops the reader with :class:`~flowkit.datastore.format.FormatTooNew`.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any

from flowkit.datastore.format import (
    FORMAT_VERSION,
    VERSION_KEY,
    check_readable,
    writer_version,
)
from flowkit.datastore.manifest import RunEnd, RunRecord, RunStatus
from flowkit.datastore.storage import ByteStorage
from flowkit.errors import CorruptObject, CorruptRecord, DatastoreError, ObjectNotFound, RunNotFound

FINAL_STATUSES = ("succeeded", "failed", "killed")
START_NAME = "run.json"
END_NAME = "end.json"
LEASE_NAME = "heartbeat.json"
#: ``{flow}/named_runs/<created ms>-<run id>``: the index of runs an orchestrator named.
NAMED_RUNS = "named_runs"
# A run id the ``latest`` hint may name: more digits than this is nonsense, not a run count.
_MAX_RUN_DIGITS = 15


@dataclass(frozen=True)
class RunLease:
    """A running run's sign of life, renewed by its runner every few seconds.

    Attributes:
        renewed_at: When the runner last renewed it (the runner's clock, seconds since the epoch).
        expires_at: Until when the runner vouches that the run is alive; past this moment
            without a renewal (and without an end record) the run is ``lost``.
        host: The machine the runner runs on.
        pid: The runner's process id on that machine.
    """

    renewed_at: float
    expires_at: float
    host: str = ""
    pid: int = 0


class RunRecords:
    """The run records of one flow; :class:`~flowkit.datastore.flowstore.FlowDatastore` adds
    tasks, logs and artifacts on top.

    Args:
        storage: The datastore root.
        flow_name: The flow class name, e.g. ``"HelloFlow"``.

    Attributes:
        storage: The datastore root.
        flow_name: The flow class name.
    """

    def __init__(self, storage: ByteStorage, flow_name: str) -> None:
        self.storage = storage
        self.flow_name = segment(flow_name, "flow name")

    def new_run(self, record: RunRecord) -> str:
        """Allocate the next run id and store the start record under it.

        Ids are claimed by creating ``run.json`` exclusively, so runners started at the same
        moment against one datastore always get distinct ids.

        Args:
            record: The start record; its ``run_id`` is ignored and replaced.

        Returns:
            The new run id, e.g. ``"12"``.
        """
        candidate = self._read_hint()
        if candidate is not None and not self.storage.exists(self._run_key(str(candidate))):
            candidate = None  # a hint naming no run is nonsense (or names a deleted run)
        if candidate is None:
            candidate = max((int(r) for r in self.run_ids() if is_run_number(r)), default=0)
        while True:
            candidate += 1
            run_id = str(candidate)
            start = replace(record, flow=self.flow_name, run_id=run_id, status="running")
            if self.storage.write(self._run_key(run_id), _stamped(start), exclusive=True):
                self._raise_hint(candidate)
                return run_id

    def claim_run(self, record: RunRecord, run_id: str) -> bool:
        """Store the start record under ``run_id``, chosen by the caller (an orchestrator's
        execution name, ``sfn-...``, ``airflow-...``), not allocated here.

        Every attempt of a run's first task may call this; only the first one writes.

        Returns:
            ``False`` when that run exists already (a retried start task): nothing is written.

        Raises:
            DatastoreError: ``run_id`` is not a valid name, or is a plain number (those are
                allocated by :meth:`new_run`).
        """
        segment(run_id, "run id")
        if is_run_number(run_id):
            raise DatastoreError(
                f"run id {run_id!r} is a plain number, which only the datastore allocates",
                hint="prefix an orchestrator's run id, e.g. 'airflow-<id>'",
            )
        start = replace(record, flow=self.flow_name, run_id=run_id, status="running")
        if not self.storage.write(self._run_key(run_id), _stamped(start), exclusive=True):
            return False
        # Listed by creation time, so readers find named runs without listing every run.
        stamp = f"{int(start.created_at * 1000):015d}-{run_id}"
        self.storage.write(f"{self.flow_name}/{NAMED_RUNS}/{stamp}", b"")
        return True

    def named_runs(self) -> list[tuple[float, str]]:
        """``(created_at, run_id)`` of the runs named by an orchestrator (:meth:`claim_run`),
        newest first: one listing of their index, no record read."""
        found = []
        for name in self.storage.list(f"{self.flow_name}/{NAMED_RUNS}"):
            stamp, _, run_id = name.partition("-")
            if stamp.isdigit() and run_id:
                found.append((int(stamp) / 1000, run_id))
        return sorted(found, reverse=True)

    def named_run_ids(self) -> list[str]:
        """The ids of the runs named by an orchestrator (:meth:`claim_run`), in name order."""
        return sorted(run_id for _, run_id in self.named_runs())

    def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        finished_at: float | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> None:
        """Store the end record of a run: its start record completed with how it ended.

        Args:
            run_id: The run.
            status: ``"succeeded"``, ``"failed"`` or ``"killed"``.
            finished_at: End time; now when omitted.
            summary: Free-form totals for the run.

        Raises:
            RunNotFound: The run does not exist.
            CorruptRecord: Its start record is damaged.
            DatastoreError: ``status`` is not a final status.
        """
        if status not in FINAL_STATUSES:
            raise DatastoreError(
                f"a run cannot finish with status {status!r}; use one of {FINAL_STATUSES}"
            )
        start = self._read_start(run_id)
        end = RunEnd(
            status=status,
            finished_at=time.time() if finished_at is None else finished_at,
            summary=dict(summary or {}),
        )
        self.storage.write(self._end_key(run_id), _stamped(start.with_end(end)))

    def run_record(self, run_id: str) -> RunRecord:
        """Return the run's record: the complete one once the run has finished.

        Reads one object (``end.json``, else ``run.json``); two for a run finished by a
        flowkit older than format 1.

        Raises:
            RunNotFound: The run does not exist.
            CorruptRecord: Its start or end record is damaged; the message names the file.
            FormatTooNew: The record was written in a newer major format.
        """
        end_key = self._end_key(run_id)
        try:
            data = self.storage.read(end_key)
        except ObjectNotFound:
            return self._read_start(run_id)
        raw = self._load(data, end_key, run_id)
        if "created_at" not in raw:  # an end part alone, written before format 1
            end = self._parse_record(RunEnd, raw, end_key, f"{self.flow_name}/{run_id}")
            return self._read_start(run_id).with_end(end)
        record = self._parse_record(RunRecord, raw, end_key, f"{self.flow_name}/{run_id}")
        return self._checked(record, end_key, run_id)

    def run_ids(self) -> list[str]:
        """Return the ids of all runs, in numeric order."""
        return sorted(self.storage.list(f"{self.flow_name}/runs"), key=numeric_first)

    def latest_run_id(self) -> str | None:
        """Return the highest allocated run id, or ``None`` when the flow has no run.

        Starts from the ``latest`` hint and probes upward, so it costs a couple of existence
        checks instead of a listing of every run.
        """
        hint = self._read_hint()
        if hint is None or not self.storage.exists(self._run_key(str(hint))):
            numeric = [r for r in self.run_ids() if is_run_number(r)]
            return numeric[-1] if numeric else None
        while self.storage.exists(self._run_key(str(hint + 1))):
            hint += 1
        return str(hint)

    def has_runs(self) -> bool:
        """Whether any run of the flow was ever started in this datastore (one small listing)."""
        return "runs" in self.storage.list(self.flow_name)

    def renew_lease(self, run_id: str, expiry: float) -> RunLease:
        """Write (or overwrite) the run's lease, valid for ``expiry`` seconds from now.

        Only the run's own runner calls this, so the object has a single writer.

        Raises:
            DatastoreError: The lease could not be written.
        """
        now = time.time()
        lease = RunLease(now, now + expiry, socket.gethostname(), os.getpid())
        body = json.dumps(lease.__dict__, sort_keys=True, separators=(",", ":")).encode()
        self.storage.write(f"{self._run_prefix(run_id)}/{LEASE_NAME}", body)
        return lease

    def read_lease(self, run_id: str) -> RunLease | None:
        """Return the run's lease, or ``None`` when it has none (or none that can be read).

        Runs recorded by a flowkit older than leases have none; so does a run whose runner died
        between writing its start record and its first lease.
        """
        try:
            raw = json.loads(self.storage.read(f"{self._run_prefix(run_id)}/{LEASE_NAME}"))
            return RunLease(
                float(raw["renewed_at"]),
                float(raw["expires_at"]),
                str(raw.get("host", "")),
                int(raw.get("pid", 0)),
            )
        except ObjectNotFound:
            return None
        except (ValueError, TypeError, KeyError):  # torn or foreign: as good as no lease
            return None

    # -- reading records -------------------------------------------------------------------

    def _read_start(self, run_id: str) -> RunRecord:
        key = self._run_key(run_id)
        try:
            data = self.storage.read(key)
        except ObjectNotFound as exc:
            raise self._run_not_found(run_id) from exc
        raw = self._load(data, key, run_id)
        return self._checked(
            self._parse_record(RunRecord, raw, key, f"{self.flow_name}/{run_id}"), key, run_id
        )

    def _load(self, data: bytearray, key: str, run_id: str) -> dict[str, Any]:
        """Parse a run record's JSON and check its format before anything else is trusted."""
        what = f"{self.flow_name}/{run_id}"
        try:
            raw = json.loads(data.decode())
        except ValueError as exc:
            raise self._corrupt(key, f"it is not valid JSON ({exc})", what) from exc
        if not isinstance(raw, dict):
            raise self._corrupt(key, "it is not a JSON object", what)
        if raw.get(VERSION_KEY) == FORMAT_VERSION:
            return raw  # this flowkit's own format: nothing to check
        try:
            check_readable(raw, f"run record {self.storage.url(key)}")
        except CorruptObject as exc:
            raise self._corrupt(key, exc.message, what) from exc
        return raw

    def _parse_record(self, cls: Any, raw: dict[str, Any], key: str, what: str) -> Any:
        try:
            return cls.from_dict(raw)
        except CorruptObject as exc:
            raise self._corrupt(key, exc.message, what) from exc

    def _checked(self, record: RunRecord, key: str, run_id: str) -> RunRecord:
        if (record.flow, record.run_id) != (self.flow_name, run_id):
            raise self._corrupt(
                key,
                f"it describes the run {record.flow}/{record.run_id}",
                f"{self.flow_name}/{run_id}",
            )
        return record

    def _corrupt(self, key: str, reason: str, what: str) -> CorruptRecord:
        url = self.storage.url(key)
        name = key.rpartition("/")[2]
        return CorruptRecord(
            f"the record {url} of {what} is unreadable: {reason}",
            hint=f"restore {name} from a backup if you have one; flowkit verify "
            f"{self.flow_name} lists every damaged object of the flow (other runs are not "
            "affected)",
            url=url,
        )

    def _run_not_found(self, run_id: str) -> RunNotFound:
        latest = self.latest_run_id()
        hint = (
            f"the latest run of {self.flow_name} is {self.flow_name}/{latest}"
            if latest
            else f"no run of {self.flow_name} is recorded in {self.storage.root} yet"
        )
        return RunNotFound(f"the run {self.flow_name}/{run_id} does not exist", hint=hint)

    # -- keys ------------------------------------------------------------------------------

    def _run_prefix(self, run_id: str) -> str:
        return f"{self.flow_name}/runs/{segment(run_id, 'run id')}"

    def _run_key(self, run_id: str) -> str:
        return f"{self._run_prefix(run_id)}/{START_NAME}"

    def _end_key(self, run_id: str) -> str:
        return f"{self._run_prefix(run_id)}/{END_NAME}"

    def _read_hint(self) -> int | None:
        # Only a starting point: garbage, a negative or an absurdly large number means "none".
        try:
            text = self.storage.read(f"{self.flow_name}/latest").decode().strip()
        except (ObjectNotFound, UnicodeDecodeError):
            return None
        if not is_run_number(text) or len(text) > _MAX_RUN_DIGITS:
            return None
        return int(text)

    def _raise_hint(self, run_number: int) -> None:
        # Best effort: a lost update only makes the next allocation probe one id further.
        current = self._read_hint()
        if current is not None and not self.storage.exists(self._run_key(str(current))):
            current = None  # nonsense: replace it
        if current is None or current < run_number:
            with suppress(OSError, DatastoreError):
                self.storage.write(f"{self.flow_name}/latest", str(run_number).encode())


def _stamped(record: RunRecord) -> bytes:
    """The record's JSON, saying which format and which flowkit wrote it."""
    return replace(record, format_version=FORMAT_VERSION, written_by=writer_version()).to_json()


def segment(value: str, what: str) -> str:
    """Return ``value`` if it can be one segment of a key (non-empty, no ``/``).

    Raises:
        DatastoreError: It cannot.
    """
    if not value or "/" in value or value in (".", ".."):
        raise DatastoreError(f"invalid {what} {value!r}: it must be a non-empty name without '/'")
    return value


def is_run_number(name: str) -> bool:
    """Whether ``name`` is a run number (plain ASCII digits)."""
    # str.isdigit() accepts digits int() refuses ("²"); run ids are plain ASCII numbers.
    return name.isascii() and name.isdigit()


def numeric_first(name: str) -> tuple[bool, int, str]:
    """Sort key putting run numbers first, in numeric order."""
    number = is_run_number(name)
    return (not number, int(name) if number else 0, name)
