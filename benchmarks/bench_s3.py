"""The S3 datastore: a 200 MB artifact saved and loaded, and a 500-way foreach, on a local server.

The script starts its own S3-protocol server on 127.0.0.1 (SeaweedFS by default, or moto) with
the helpers of the test suite, runs every measurement in fresh subprocesses that reach it
through the standard ``AWS_*`` variables (Metaflow through ``METAFLOW_S3_ENDPOINT_URL``), prints
medians side by side with Metaflow's S3 datastore when Metaflow is installed, and stops the
server. Nothing leaves 127.0.0.1.

    python benchmarks/bench_s3.py                       # both frameworks, SeaweedFS, 3 repeats
    python benchmarks/bench_s3.py --only flowkit        # about a minute
    python benchmarks/bench_s3.py --server moto --repeat 5 --json out.json

Rows:

* save / load 200 MB: one artifact (random ``uint8`` NumPy array) stored through each
  framework's datastore API in a fresh process (flowkit ``FlowDatastore.save_artifact`` /
  ``load_artifact``; Metaflow ``TaskDataStore.save_artifacts`` / item access), new content every
  repeat so nothing is deduplicated. Load includes verifying (flowkit: sha256) or
  decompressing (Metaflow: gzip) the bytes.
* foreach w=W: wall clock of ``python flow.py run`` (``benchmarks/flows/*_foreach.py``), spawn
  to exit, with the datastore on the server. Metaflow's S3 tasks cost seconds each, so its
  foreach runs at ``--metaflow-width`` (default 10) and w=W is extrapolated from w=1 and that
  width (marked ``~``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
FLOWS = HERE / "flows"
# The server helpers live with the tests, which start the same servers.
sys.path.insert(0, str(HERE.parent / "tests"))

from s3servers import STARTERS, S3Server, ServerUnavailable  # noqa: E402

FLOWKIT_ARTIFACT = """
import sys, time
import numpy as np
from flowkit.datastore import ByteStorage, FlowDatastore
root, size_mb, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = FlowDatastore(ByteStorage(root), "BigArtifact")
store.storage.check()
array = np.random.default_rng(seed).integers(0, 255, size=size_mb << 20, dtype=np.uint8)
started = time.perf_counter()
ref = store.save_artifact(array)
save = time.perf_counter() - started
started = time.perf_counter()
back = store.load_artifact(ref)
load = time.perf_counter() - started
assert (back == array).all()
print(f"RESULT {save:.4f} {load:.4f}")
"""

METAFLOW_ARTIFACT = """
import sys, time
import numpy as np
from metaflow.datastore import FlowDataStore
from metaflow.plugins.datastores.s3_storage import S3Storage
root, size_mb, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = FlowDataStore("BigArtifact", storage_impl=S3Storage, ds_root=root)
array = np.random.default_rng(seed).integers(0, 255, size=size_mb << 20, dtype=np.uint8)
task = store.get_task_datastore(str(seed), "start", "1", attempt=0, mode="w")
task.init_task()
started = time.perf_counter()
task.save_artifacts(iter([("array", array)]))
task.done()
save = time.perf_counter() - started
reader = store.get_task_datastore(str(seed), "start", "1", mode="r")
started = time.perf_counter(); back = reader["array"]; load = time.perf_counter() - started
assert (back == array).all()
print(f"RESULT {save:.4f} {load:.4f}")
"""


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float) -> tuple[float, str]:
    """Run ``cmd``; return its wall clock and output, raising ``RuntimeError`` on failure."""
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"timed out after {timeout:.0f} s") from exc
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"exit code {proc.returncode}:\n{tail}")
    return elapsed, proc.stdout + proc.stderr


class Framework:
    """How one framework is pointed at the server and run."""

    name = ""

    def __init__(self, server: S3Server, scratch: Path) -> None:
        self.server = server
        self.scratch = scratch

    def root(self) -> str:
        return self.server.url(f"bench-{self.name}-{uuid.uuid4().hex[:8]}")

    def env(self, root: str) -> dict[str, str]:
        raise NotImplementedError

    def artifact_script(self) -> str:
        raise NotImplementedError

    def foreach_cmd(self, width: int) -> list[str]:
        raise NotImplementedError


class Flowkit(Framework):
    name = "flowkit"

    def env(self, root: str) -> dict[str, str]:
        env = self.server.env()
        env.update(FLOWKIT_DATASTORE_ROOT=root, PYTHONUNBUFFERED="1")
        return env

    def artifact_script(self) -> str:
        return FLOWKIT_ARTIFACT

    def foreach_cmd(self, width: int) -> list[str]:
        return [sys.executable, str(FLOWS / "fk_foreach.py"), "run", "--width", str(width)]


class Metaflow(Framework):
    name = "metaflow"

    @staticmethod
    def installed() -> bool:
        try:
            import metaflow  # noqa: F401
        except Exception:
            return False
        return True

    def env(self, root: str) -> dict[str, str]:
        env = {k: v for k, v in self.server.env().items() if not k.startswith("METAFLOW_")}
        home = self.scratch / "metaflow-home"
        home.mkdir(exist_ok=True)
        env.update(
            METAFLOW_HOME=str(home),  # no profile can point it at a service
            METAFLOW_DEFAULT_DATASTORE="s3",
            METAFLOW_DATASTORE_SYSROOT_S3=root,
            METAFLOW_S3_ENDPOINT_URL=self.server.endpoint,
            METAFLOW_DEFAULT_METADATA="local",
            METAFLOW_DEFAULT_ENVIRONMENT="local",
            USERNAME="bench",
        )
        return env

    def artifact_script(self) -> str:
        return METAFLOW_ARTIFACT

    def foreach_cmd(self, width: int) -> list[str]:
        return [
            sys.executable,
            str(FLOWS / "mf_foreach.py"),
            "--no-pylint",
            "run",
            "--max-num-splits",
            str(max(width, 1) + 1),
            "--max-workers",
            str(len(os.sched_getaffinity(0))),
            "--width",
            str(width),
        ]


def measure(fw: Framework, args: argparse.Namespace, results: dict) -> None:
    """Fill ``results[fw.name]`` with samples, or the reason a part could not be measured."""
    mine: dict = results.setdefault(fw.name, {"samples": {}, "notes": []})
    samples: dict[str, list[float]] = mine["samples"]
    for repeat in range(args.repeat):
        root = fw.root()
        try:
            _, out = _run(
                [sys.executable, "-c", fw.artifact_script(), root, str(args.size_mb), str(repeat)],
                fw.env(root),
                fw.scratch,
                args.timeout,
            )
            save, load = (float(x) for x in out.split("RESULT", 1)[1].split()[:2])
            samples.setdefault("save", []).append(save)
            samples.setdefault("load", []).append(load)
            _say(f"  {fw.name} artifact #{repeat + 1}: save {save:.2f} s, load {load:.2f} s")
        except (RuntimeError, IndexError, ValueError) as exc:
            mine["notes"].append(f"{args.size_mb} MB artifact failed: {exc}")
            _say(f"  {fw.name} artifact failed: {exc}")
            break
        finally:
            fw.server.clear(root.split("/", 3)[3])
    width = args.width if fw.name == "flowkit" else min(args.metaflow_width, args.width)
    for repeat in range(args.repeat):
        for w in sorted({1, width}):
            root = fw.root()
            try:
                elapsed, _ = _run(fw.foreach_cmd(w), fw.env(root), fw.scratch, args.timeout)
                samples.setdefault(f"foreach w={w}", []).append(elapsed)
                _say(f"  {fw.name} foreach w={w} #{repeat + 1}: {elapsed:.2f} s")
            except RuntimeError as exc:
                mine["notes"].append(f"foreach w={w} failed: {exc}")
                _say(f"  {fw.name} foreach w={w} failed: {exc}")
                return
            finally:
                fw.server.clear(root.split("/", 3)[3])
    mine["width"] = width


def figures(entry: dict, full_width: int) -> dict[str, tuple[float | None, bool]]:
    """Medians; ``True`` marks an extrapolated figure."""
    med = {k: statistics.median(v) for k, v in entry["samples"].items() if v}
    width = entry.get("width")
    one, wide = med.get("foreach w=1"), med.get(f"foreach w={width}")
    per_task = (wide - one) / (width - 1) if one and wide and width and width > 1 else None
    if width == full_width:
        foreach = (wide, False)
    elif one is not None and per_task is not None:
        foreach = (one + (full_width - 1) * per_task, True)
    else:
        foreach = (None, False)
    return {
        "save": (med.get("save"), False),
        "load": (med.get("load"), False),
        "foreach": foreach,
        "per_task": (per_task, False),
    }


def report(results: dict, args: argparse.Namespace, server: S3Server) -> None:
    names = [n for n in ("flowkit", "metaflow") if n in results]
    table = {n: figures(results[n], args.width) for n in names}
    rows = [
        (f"save {args.size_mb} MB artifact", "save", "s"),
        (f"load {args.size_mb} MB artifact", "load", "s"),
        (f"foreach w={args.width} run", "foreach", "s"),
        ("per-task overhead", "per_task", "ms"),
    ]
    print(f"\nS3 datastore on {server.name} at {server.endpoint} (medians of {args.repeat})\n")
    print(f"| {'':28} | " + " | ".join(f"{n:>12}" for n in names) + " |")
    print(f"|{'-' * 30}|" + "|".join("-" * 14 for _ in names) + "|")
    for label, key, unit in rows:
        cells = []
        for n in names:
            value, extrapolated = table[n][key]
            if value is None:
                cells.append(f"{'n/a':>12}")
                continue
            shown = value * 1000 if unit == "ms" else value
            cells.append(f"{('~' if extrapolated else '') + f'{shown:.2f} {unit}':>12}")
        print(f"| {label:28} | " + " | ".join(cells) + " |")
    for n in names:
        width = results[n].get("width")
        if width and width != args.width:
            print(f"\n~ {n}: foreach measured at w=1 and w={width}, w={args.width} extrapolated")
        for note in results[n]["notes"]:
            print(f"! {n}: {note}")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "args": vars(args)}, indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=sorted(STARTERS), default="seaweedfs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--width", type=int, default=500)
    parser.add_argument("--metaflow-width", type=int, default=10)
    parser.add_argument("--only", choices=["flowkit", "metaflow"])
    parser.add_argument("--timeout", type=float, default=900, help="per subprocess, seconds")
    parser.add_argument("--json", help="write every sample here")
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="flowkit-bench-s3-"))
    try:
        server = STARTERS[args.server](scratch / "server")
    except ServerUnavailable as exc:
        _say(f"cannot start {args.server}: {exc}")
        return 2
    results: dict = {}
    try:
        frameworks: list[Framework] = []
        if args.only != "metaflow":
            frameworks.append(Flowkit(server, scratch))
        if args.only != "flowkit":
            if Metaflow.installed():
                frameworks.append(Metaflow(server, scratch))
            else:
                _say("Metaflow is not installed: flowkit figures only")
        for fw in frameworks:
            _say(f"{fw.name} on {server.name}:")
            measure(fw, args, results)
        report(results, args, server)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)  # the server's data: gigabytes after a run
    return 0


if __name__ == "__main__":
    sys.exit(main())
