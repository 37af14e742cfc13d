"""A writer of the concurrency tests: ``python promoter.py ROOT WORKER MOVES SHA BARRIER WORKERS``.

Registers one version of ``churn`` (a blob stored by the test beforehand), waits at a start
line (a file per worker in the folder ``BARRIER``, until ``WORKERS`` are there: process start-up
takes longer than the moves, so without it the writers would barely overlap), then tries ``MOVES``
compare-and-swap promotions of ``churn@champion``: it reads where the alias points, promotes
another version with ``expect`` set to it, and on a conflict reads again. Prints one JSON line:
the version it registered, the moves that succeeded (seq, previous, version) and how many
conflicts it saw.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from flowkit.datastore import ByteStorage
from flowkit.modelreg import AliasConflict, ModelVersion, Registry


def _start_line(barrier: Path, worker: int, workers: int) -> None:
    (barrier / f"ready-{worker}").touch()
    deadline = time.monotonic() + 120
    while len(os.listdir(barrier)) < workers:
        if time.monotonic() > deadline:
            raise SystemExit("the other writers never came to the start line")
        time.sleep(0.005)


def main(root: str, worker: int, moves: int, sha: str, barrier: Path, workers: int) -> None:
    registry = Registry(ByteStorage(root), user=f"worker{worker}")
    draft = ModelVersion(
        name="churn",
        number=0,
        kind="model",
        sha=sha,
        type="builtins.dict",
        size=1,
        flow="SeedFlow",
        pathspec="SeedFlow/1/train/1",
        artifact="model",
        user=f"worker{worker}",
        created_at=1.0e9,
        metrics={"worker": worker},
    )
    mine = registry.add_version(draft).number
    _start_line(barrier, worker, workers)
    done: list[dict[str, int | None]] = []
    conflicts = 0
    while len(done) < moves:
        now = registry.aliases("churn").get("champion")
        target = mine if now != mine else 1
        try:
            event = registry.promote("churn", target, "champion", expect=now)
        except AliasConflict as exc:
            conflicts += 1
            assert exc.current != now
            continue
        assert event.previous == now
        done.append({"seq": event.seq, "previous": event.previous, "version": event.version})
    print(json.dumps({"worker": worker, "version": mine, "moves": done, "conflicts": conflicts}))


if __name__ == "__main__":
    root, worker, moves, sha, barrier, workers = sys.argv[1:7]
    main(root, int(worker), int(moves), sha, Path(barrier), int(workers))
