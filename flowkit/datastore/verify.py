"""Checking a flow's stored objects, and setting the damaged ones aside (``flowkit verify``).

Every object a run can reach is read: its start and end records, the manifest of every task
attempt, the artifact blobs they name (each one read and hashed once, however many tasks share
it), the parameters and code snapshot of the run record, and the task logs. Each damaged object
is reported with its URL, what refers to it and what is wrong.

Repairing moves a damaged object under the flow's ``quarantine/`` folder, never deletes it:

* a corrupt blob: the next write of that content stores it again, and a resume recomputes the
  tasks that need it (resume does not clone a task whose blobs are missing);
* a damaged task manifest: the task no longer exists, so a resume runs it again;
* a damaged end record: the run reads as not finished;
* a nonsense ``latest`` hint: the next run writes a good one.

Two kinds of damage cannot be repaired this way and stay reported: a damaged run record
(``run.json`` claims the run id; setting it aside would let a new run take the id of one whose
tasks are still stored) and a damaged log (nothing can recompute what a task printed).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.format import FormatTooNew
from flowkit.datastore.manifest import RunEnd, RunRecord, TaskManifest
from flowkit.errors import CorruptRecord, DatastoreError, ObjectNotFound

# Blobs are read and hashed on this many threads (hashing releases the GIL; remote reads wait).
_CHECK_THREADS = 8
# A problem lists this many of the objects referring to it, then a count.
_SHOWN_REFERRERS = 3


@dataclass
class Problem:
    """One damaged object.

    Attributes:
        kind: ``"run record"``, ``"end record"``, ``"task manifest"``, ``"artifact"``,
            ``"parameter"``, ``"code snapshot"``, ``"environment record"``, ``"log"`` or
            ``"latest hint"``.
        url: Where the object is stored.
        reason: What is wrong with it.
        referrers: What refers to it, e.g. ``"LinearFlow/1/b/3 (artifact seen)"``.
        repairable: Whether ``--repair`` can set it aside.
        repaired: Whether ``--repair`` dealt with it: set it aside, or (a missing blob)
            found nothing to move, leaving it for a resume to recompute.
        moved_to: Where ``--repair`` moved it (``""``: not moved).
    """

    kind: str
    url: str
    reason: str
    referrers: list[str] = field(default_factory=list)
    repairable: bool = True
    moved_to: str = ""
    repaired: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The problem, JSON-ready."""
        return {
            "kind": self.kind,
            "path": self.url,
            "reason": self.reason,
            "referred_to_by": list(self.referrers),
            "repairable": self.repairable,
            "repaired": self.repaired,
            "moved_to": self.moved_to or None,
        }


@dataclass
class VerifyReport:
    """What :func:`verify_flow` found.

    Attributes:
        flow: The flow name.
        runs: The run ids checked.
        checked: How many objects were read.
        problems: The damaged objects.
        flow_files: Run id -> the flow file it was started from (for resume commands).
    """

    flow: str
    runs: list[str] = field(default_factory=list)
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    flow_files: dict[str, str] = field(default_factory=dict)

    def affected_runs(self) -> list[str]:
        """Ids of the runs a damaged object belongs to or is used by, in numeric order."""
        runs = set()
        for problem in self.problems:
            for referrer in problem.referrers:
                parts = referrer.split(" ")[0].split("/")
                if len(parts) >= 2 and parts[0] == self.flow:
                    runs.add(parts[1])
        return sorted(runs, key=lambda r: (not r.isdigit(), int(r) if r.isdigit() else 0, r))

    def resume_command(self) -> str:
        """The command that recomputes what was lost: resuming the newest affected run."""
        runs = self.affected_runs()
        if not runs:
            return ""
        run = runs[-1]
        flow_file = self.flow_files.get(run) or "<flow file>"
        return f"python {flow_file} resume --origin-run-id {run}"

    @property
    def remaining(self) -> list[Problem]:
        """The problems that were not repaired."""
        return [p for p in self.problems if not p.repaired]

    def to_dict(self) -> dict[str, Any]:
        """The report, JSON-ready."""
        return {
            "flow": self.flow,
            "runs": list(self.runs),
            "checked": self.checked,
            "problems": [p.to_dict() for p in self.problems],
        }


def verify_flow(
    store: FlowDatastore, run_id: str | None = None, *, repair: bool = False
) -> VerifyReport:
    """Check every object of one run (or of every run of the flow) and report the damaged ones.

    Args:
        store: The flow's datastore.
        run_id: Only this run; every run of the flow when ``None`` (the ``latest`` hint too).
        repair: Move each damaged object that can be recomputed to the flow's quarantine.

    Returns:
        The report.

    Raises:
        RunNotFound: ``run_id`` names no run.
    """
    report = VerifyReport(store.flow_name)
    blobs: dict[str, list[str]] = defaultdict(list)
    blob_kinds: dict[str, str] = {}
    if run_id is None:
        _check_hint(store, report, repair)
        run_ids = store.run_ids()
    else:
        if not store.storage.exists(store._run_key(run_id)):
            store.run_record(run_id)  # raises RunNotFound with the latest runs
        run_ids = [run_id]
    for run in run_ids:
        report.runs.append(run)
        _check_run(store, run, report, blobs, blob_kinds, repair)
    _check_blobs(store, blobs, blob_kinds, report, repair)
    return report


def _check_hint(store: FlowDatastore, report: VerifyReport, repair: bool) -> None:
    key = f"{store.flow_name}/latest"
    try:
        text = store.storage.read(key)
    except ObjectNotFound:
        return
    report.checked += 1
    hint = store._read_hint()
    if hint is not None and store.storage.exists(store._run_key(str(hint))):
        return
    shown = bytes(text[:40]).decode("utf-8", "replace")
    problem = Problem(
        "latest hint",
        store.storage.url(key),
        f"{shown!r} is not the id of a run of {store.flow_name} (readers ignore it)",
    )
    _repair(store, problem, key, repair)
    report.problems.append(problem)


def _check_run(
    store: FlowDatastore,
    run_id: str,
    report: VerifyReport,
    blobs: dict[str, list[str]],
    blob_kinds: dict[str, str],
    repair: bool,
) -> None:
    pathspec = f"{store.flow_name}/{run_id}"
    prefix = store._run_prefix(run_id)
    record = _read_record(
        store, f"{prefix}/run.json", RunRecord.from_json, "run record", pathspec, report
    )
    if record is not None:
        report.flow_files[run_id] = record.flow_file
        for name, ref in record.parameters.items():
            _refer(blobs, blob_kinds, ref.sha, f"{pathspec} (parameter {name})", "parameter")
        if record.code_sha:
            _refer(blobs, blob_kinds, record.code_sha, pathspec, "code snapshot")
        if record.environment_sha:
            _refer(blobs, blob_kinds, record.environment_sha, pathspec, "environment record")
    end_key = f"{prefix}/end.json"
    if store.storage.exists(end_key):
        end = _read_record(store, end_key, _end_record, "end record", pathspec, report)
        if end is None:
            _repair(store, report.problems[-1], end_key, repair)
    seen_logs: set[tuple[Any, ...]] = set()
    for step in store.steps(run_id):
        for task_id in store.tasks(run_id, step):
            for attempt in store.attempts(run_id, step, task_id):
                key = store._manifest_key(run_id, step, task_id, attempt)
                task = f"{pathspec}/{step}/{task_id}"
                manifest = _read_record(
                    store, key, TaskManifest.from_json, "task manifest", task, report
                )
                if manifest is None:
                    _repair(store, report.problems[-1], key, repair)
                    continue
                for name, ref in manifest.artifacts.items():
                    _refer(blobs, blob_kinds, ref.sha, f"{task} (artifact {name})", "artifact")
                _check_logs(store, manifest, report, seen_logs)


def _read_record(
    store: FlowDatastore,
    key: str,
    parse: Callable[[bytearray], Any],
    kind: str,
    owner: str,
    report: VerifyReport,
) -> Any:
    """The parsed record, or ``None`` after adding a problem for it."""
    url = store.storage.url(key)
    report.checked += 1
    try:
        return parse(store.storage.read(key))
    except ObjectNotFound:
        reason = "missing"
    except FormatTooNew:
        raise  # not damage: a newer flowkit wrote it, and it must never be set aside
    except (CorruptRecord, DatastoreError) as exc:
        reason = exc.message
    repairable = kind != "run record"
    problem = Problem(kind, url, reason, [owner], repairable=repairable)
    if not repairable:
        problem.reason += (
            " (not set aside: the run record holds the run id; restore it from a backup)"
        )
    report.problems.append(problem)
    return None


def _end_record(data: bytearray) -> RunEnd | RunRecord:
    """An end record: the complete run record since format 1, the end fields alone before."""
    try:
        raw = json.loads(data)
    except ValueError:
        raw = None  # RunEnd.from_json says what is wrong
    if isinstance(raw, dict) and "created_at" in raw:
        return RunRecord.from_json(data)
    return RunEnd.from_json(data)


def _check_logs(
    store: FlowDatastore, manifest: TaskManifest, report: VerifyReport, seen: set[tuple[Any, ...]]
) -> None:
    origin = manifest.log_origin
    where: Any = origin if origin is not None else manifest.pathspec
    for stream, size in sorted(manifest.logs.items()):
        if (where, stream) in seen:
            continue  # a clone's logs are its origin's
        seen.add((where, stream))
        report.checked += 1
        try:
            stored = len(store.read_task_log(manifest, stream))
        except (DatastoreError, KeyError, TypeError, ValueError) as exc:
            reason = f"unreadable ({exc})"
        else:
            if stored == size:
                continue
            reason = "missing" if not stored else f"truncated: {stored} of its {size} bytes"
        report.problems.append(
            Problem(
                "log",
                f"{stream} of {manifest.pathspec}",
                reason + " (not set aside: nothing can recompute what a task printed)",
                [manifest.pathspec],
                repairable=False,
            )
        )


def _refer(
    blobs: dict[str, list[str]], kinds: dict[str, str], sha: str, referrer: str, kind: str
) -> None:
    blobs[sha].append(referrer)
    kinds.setdefault(sha, kind)


def _check_blobs(
    store: FlowDatastore,
    blobs: dict[str, list[str]],
    kinds: dict[str, str],
    report: VerifyReport,
    repair: bool,
) -> None:
    shas = sorted(blobs)
    report.checked += len(shas)

    def check(sha: str) -> str | None:
        try:
            return store.content.check(sha)
        except ObjectNotFound as exc:  # not a blob name at all
            return exc.message

    with ThreadPoolExecutor(_CHECK_THREADS) as pool:
        reasons = list(pool.map(check, shas))
    for sha, reason in zip(shas, reasons, strict=True):
        if reason is None:
            continue
        try:
            url = store.storage.url(store.content.key(sha))
        except ObjectNotFound:
            url = repr(sha)
        problem = Problem(kinds[sha], url, reason, blobs[sha])
        if repair:
            if reason == "missing":
                problem.repaired = True  # nothing to move: a resume recomputes it
            else:
                problem.moved_to = store.content.quarantine(sha) or ""
                problem.repaired = True
        report.problems.append(problem)


def _repair(store: FlowDatastore, problem: Problem, key: str, repair: bool) -> None:
    if not repair or not problem.repairable:
        return
    with suppress(ObjectNotFound):  # moved by someone else meanwhile
        problem.moved_to = store.quarantine(key)
    problem.repaired = True


def describe_referrers(problem: Problem) -> str:
    """``"A, B, C and 4 more"``: what refers to a damaged object, shortened."""
    shown = problem.referrers[:_SHOWN_REFERRERS]
    more = len(problem.referrers) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
