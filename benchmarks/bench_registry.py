"""Registry operations: register, promote (compare-and-swap), resolve, and contended promotes.

Usage::

    python benchmarks/bench_registry.py [--root URL] [--ops 50] [--writers 8]

``--root`` is a folder or ``s3://bucket/prefix`` (endpoint and credentials from the usual AWS
variables); a temporary folder by default. Prints per-operation latency (median, p90) for one
writer, then the throughput of ``--writers`` processes promoting one alias with ``--expect`` at
once, and how many of their compare-and-swaps were refused and retried. Metaflow has no
registry to compare with.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import shutil
import statistics
import tempfile
import time
import uuid
from typing import Any

from flowkit.datastore import ByteStorage, FlowDatastore
from flowkit.modelreg import AliasConflict, ModelVersion, Registry


def _draft(storage: ByteStorage, name: str) -> ModelVersion:
    sha = FlowDatastore(storage, "BenchFlow").save_artifact({"weights": list(range(100))}).sha
    return ModelVersion(
        name=name,
        number=0,
        kind="model",
        sha=sha,
        type="builtins.dict",
        size=1,
        flow="BenchFlow",
        pathspec="BenchFlow/1/train/1",
        artifact="model",
        user="bench",
        created_at=time.time(),
    )


def _timed(func, count: int) -> list[float]:
    times = []
    for i in range(count):
        start = time.perf_counter()
        func(i)
        times.append(time.perf_counter() - start)
    return times


def _show(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    print(f"{label:<28} median {statistics.median(times) * 1e3:7.2f} ms   p90 {p90 * 1e3:7.2f} ms")


def _contender(root: str, name: str, moves: int, out: Any) -> None:
    registry = Registry(ByteStorage(root), user="bench")
    conflicts = 0
    done = 0
    while done < moves:
        now = registry.aliases(name).get("champion")
        try:
            registry.promote(name, 1 if now == 2 else 2, "champion", expect=now)
            done += 1
        except AliasConflict:
            conflicts += 1
    out.put(conflicts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=None)
    parser.add_argument("--ops", type=int, default=50)
    parser.add_argument("--writers", type=int, default=8)
    args = parser.parse_args()
    scratch = None if args.root else tempfile.mkdtemp(prefix="bench-registry-")
    root = args.root or scratch or ""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    storage = ByteStorage(root)
    try:
        registry = Registry(storage, user="bench")
        draft = _draft(storage, name)
        print(f"registry at {storage.url('.registry/' + name)}")
        _show("register a version", _timed(lambda i: registry.add_version(draft), args.ops))
        _show(
            "promote --expect (1 writer)",
            _timed(
                lambda i: registry.promote(
                    name, 1 + i % 2, "champion", expect=(2 - i % 2) if i else None
                ),
                args.ops,
            ),
        )
        _show("resolve name@champion", _timed(lambda i: registry.resolve(f"{name}@champion"), 20))
        fresh = _timed(lambda i: Registry(ByteStorage(root)).aliases(name), 5)
        _show(f"fresh reader, {args.ops}-move log", fresh)

        moves = max(1, args.ops // args.writers)
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        procs = [
            ctx.Process(target=_contender, args=(root, name, moves, queue))
            for _ in range(args.writers)
        ]
        start = time.perf_counter()
        for proc in procs:
            proc.start()
        conflicts = sum(queue.get() for _ in procs)
        for proc in procs:
            proc.join()
        took = time.perf_counter() - start
        total = moves * args.writers
        print(
            f"{args.writers} writers, {total} CAS promotes: {took:.2f} s "
            f"({total / took:.1f} moves/s incl. process start), {conflicts} refused and retried"
        )
        history = Registry(ByteStorage(root)).history(name, "champion")
        chained = all(b.previous == a.version for a, b in itertools.pairwise(history))
        print(f"history: {len(history)} moves, one chain: {chained}")
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
