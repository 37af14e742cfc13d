"""A writer of the concurrency tests: ``python promoter.py ROOT WORKER MOVES``.

Registers one version of ``churn`` (a blob stored by the test beforehand), then tries ``MOVES``
compare-and-swap promotions of ``churn@champion``: it reads where the alias points, promotes
another version with ``expect`` set to it, and on a conflict reads again. Prints one JSON line:
the version it registered, the moves that succeeded (seq, previous, version) and how many
conflicts it saw.
"""

from __future__ import annotations

import json
import sys

from flowkit.datastore import ByteStorage
from flowkit.modelreg import AliasConflict, ModelVersion, Registry


def main(root: str, worker: int, moves: int, sha: str) -> None:
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
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
