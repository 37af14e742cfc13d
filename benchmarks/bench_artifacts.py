"""Save and load a large numpy array through the datastore and report throughput and memory.

Each measurement runs in a fresh Python process so its peak memory is its own. Usage::

    python benchmarks/bench_artifacts.py [--size-mb 200] [--repeat 5] [--no-metaflow]

Targets for a 200 MB float64 array on a local folder: save >= 300 MB/s with peak memory at most
1.5x the array over the process's baseline, load >= 500 MB/s. When Metaflow is importable, the
same array goes through Metaflow's local datastore for comparison.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FLOW = "BenchFlow"


# -- measurements, each run in its own process ---------------------------------------------


def _memory_kb(field: str) -> int:
    """VmRSS (current) or VmHWM (peak) of this process, in KiB.

    /proc is used rather than ru_maxrss because a child's ru_maxrss starts from the peak of the
    process it was forked from.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


def _make_array(size_mb: int, seed: int) -> Any:
    import numpy as np

    return np.random.default_rng(seed).random(size_mb * 1_000_000 // 8)


def _child_flowkit_save(root: str, size_mb: int, seed: int) -> dict[str, Any]:
    from flowkit.datastore import ByteStorage, FlowDatastore

    datastore = FlowDatastore(ByteStorage(root), FLOW)
    baseline = _memory_kb("VmRSS")
    array = _make_array(size_mb, seed)
    start = time.perf_counter()
    ref = datastore.save_artifact(array, "array")
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "baseline_kb": baseline,
        "peak_kb": _memory_kb("VmHWM"),
        "key": ref.sha,
    }


def _child_flowkit_load(root: str, key: str) -> dict[str, Any]:
    import numpy  # noqa: F401  (a program loading arrays has numpy imported already)

    from flowkit.datastore import ByteStorage, FlowDatastore

    datastore = FlowDatastore(ByteStorage(root), FLOW)
    baseline = _memory_kb("VmRSS")
    start = time.perf_counter()
    array = datastore.load_artifact(key)
    seconds = time.perf_counter() - start
    assert array.flags.writeable
    return {"seconds": seconds, "baseline_kb": baseline, "peak_kb": _memory_kb("VmHWM")}


def _metaflow_datastore(root: str) -> Any:
    from metaflow.datastore import FlowDataStore
    from metaflow.plugins.datastores.local_storage import LocalStorage

    return FlowDataStore(FLOW, storage_impl=LocalStorage, ds_root=root)


def _child_metaflow_save(root: str, size_mb: int, seed: int) -> dict[str, Any]:
    flow_datastore = _metaflow_datastore(root)
    baseline = _memory_kb("VmRSS")
    array = _make_array(size_mb, seed)
    start = time.perf_counter()
    task = flow_datastore.get_task_datastore("1", "start", "1", attempt=0, mode="w")
    task.init_task()
    task.save_artifacts(iter([("array", array)]))
    task.done()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "baseline_kb": baseline, "peak_kb": _memory_kb("VmHWM"), "key": ""}


def _child_metaflow_load(root: str, key: str) -> dict[str, Any]:
    import numpy  # noqa: F401  (as for flowkit)

    flow_datastore = _metaflow_datastore(root)
    baseline = _memory_kb("VmRSS")
    start = time.perf_counter()
    task = flow_datastore.get_task_datastore("1", "start", "1", mode="r")
    array = task["array"]
    seconds = time.perf_counter() - start
    assert array.shape
    return {"seconds": seconds, "baseline_kb": baseline, "peak_kb": _memory_kb("VmHWM")}


def _child_touch_memory(size_mb: int) -> dict[str, Any]:
    import numpy as np

    start = time.perf_counter()
    np.ones(size_mb * 1_000_000 // 8)
    return {"seconds": time.perf_counter() - start}


CHILDREN = {
    "flowkit-save": _child_flowkit_save,
    "flowkit-load": _child_flowkit_load,
    "metaflow-save": _child_metaflow_save,
    "metaflow-load": _child_metaflow_load,
    "touch": _child_touch_memory,
}


# -- the driver ------------------------------------------------------------------------------


def _run_child(name: str, *args: Any) -> dict[str, Any]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    )
    command = [sys.executable, __file__, "--child", name, *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _measure(kind: str, size_mb: int, repeat: int) -> dict[str, float]:
    saves, loads = [], []
    for seed in range(repeat):
        # A fresh folder per repetition; deleting it afterwards returns its page cache, so every
        # repetition writes into memory the system has already handed out once.
        root = tempfile.mkdtemp(prefix=f"bench-{kind}-")
        try:
            saved = _run_child(f"{kind}-save", root, size_mb, seed)
            loaded = _run_child(f"{kind}-load", root, saved["key"])
        finally:
            shutil.rmtree(root, ignore_errors=True)
        saves.append(saved)
        loads.append(loaded)
    array_kb = size_mb * 1_000_000 / 1024
    return {
        "save_mb_s": statistics.median(size_mb / r["seconds"] for r in saves),
        "load_mb_s": statistics.median(size_mb / r["seconds"] for r in loads),
        "save_peak_ratio": max((r["peak_kb"] - r["baseline_kb"]) / array_kb for r in saves),
        "load_peak_ratio": max((r["peak_kb"] - r["baseline_kb"]) / array_kb for r in loads),
    }


def _print(kind: str, figures: dict[str, float]) -> None:
    print(
        f"{kind:9} save {figures['save_mb_s']:7.0f} MB/s   load {figures['load_mb_s']:7.0f} MB/s   "
        f"peak memory over baseline: save {figures['save_peak_ratio']:.2f}x, "
        f"load {figures['load_peak_ratio']:.2f}x the array"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-metaflow", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, *rest = args.child
        print(json.dumps(CHILDREN[name](*(int(a) if a.isdigit() else a for a in rest))))
        return

    print(f"array: {args.size_mb} MB of random float64, median of {args.repeat} runs")
    print("peak memory includes the array itself (1.00x is the floor)")
    touch = statistics.median(
        args.size_mb / _run_child("touch", args.size_mb)["seconds"] for _ in range(3)
    )
    print(
        f"context: filling {args.size_mb} MB of fresh memory runs at {touch:.0f} MB/s here; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )

    flowkit = _measure("flowkit", args.size_mb, args.repeat)
    _print("flowkit", flowkit)
    print(
        f"targets   save >= 300 MB/s: {'ok' if flowkit['save_mb_s'] >= 300 else 'MISSED'}; "
        f"load >= 500 MB/s: {'ok' if flowkit['load_mb_s'] >= 500 else 'MISSED'}; "
        f"save peak <= 1.5x: {'ok' if flowkit['save_peak_ratio'] <= 1.5 else 'MISSED'}"
    )

    if args.no_metaflow:
        print("metaflow: skipped (--no-metaflow)")
    elif importlib.util.find_spec("metaflow") is None:
        print("metaflow: skipped (metaflow is not installed)")
    else:
        try:
            metaflow = _measure("metaflow", args.size_mb, args.repeat)
        except RuntimeError as exc:
            print(f"metaflow: skipped ({str(exc).splitlines()[-1]})")
        else:
            _print("metaflow", metaflow)
            print(
                "ratio     flowkit/metaflow: "
                f"save {flowkit['save_mb_s'] / metaflow['save_mb_s']:.1f}x"
                f", load {flowkit['load_mb_s'] / metaflow['load_mb_s']:.1f}x faster"
            )


if __name__ == "__main__":
    main()
