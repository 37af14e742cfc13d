"""Capturing a task's output: 100 MiB on one line versus 100 MiB in short lines.

Runs a one-step flow through the real CLI (``python flow.py run``, forked workers) whose step
prints the output, and reports the run's wall time and the runner's peak memory (VmHWM, read
from /proc while it runs) above that of a run printing almost nothing. Usage::

    python benchmarks/bench_logs.py [--mib 100]

Targets: the one-line run within 2x the time of the short-lines run; the runner's memory growth
under 50 MB in both (the output is spooled to a temporary file and streamed to the datastore, and
the live echo of an enormous line is capped).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

FLOW = """
import os
import sys

from flowkit import FlowSpec, step

BLOCK = 64 * 1024


class LogBenchFlow(FlowSpec):
    @step
    def start(self):
        total = int(os.environ["BENCH_BYTES"])
        if os.environ["BENCH_SHAPE"] == "one-line":
            block = "x" * BLOCK  # no newline until the very end, like a \\r progress bar
        else:
            block = ("y" * 99 + "\\n") * (BLOCK // 100)
        for _ in range(total // len(block)):
            sys.stdout.write(block)
        sys.stdout.write("\\n")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LogBenchFlow()
"""


def _peak_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _run(folder: Path, shape: str, size: int) -> tuple[float, int]:
    """One run: (seconds, the runner's peak RSS in KiB)."""
    env = dict(
        os.environ,
        FLOWKIT_DATASTORE_ROOT=str(folder / f"datastore-{shape}-{size}"),
        BENCH_SHAPE=shape,
        BENCH_BYTES=str(size),
        PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    )
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(folder / "logbench.py"), "run", "--max-workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _peak_kb(proc.pid) or 0)
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"the {shape} run failed:\n{proc.stderr.read() if proc.stderr else ''}")
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=100, help="output size in MiB")
    args = parser.parse_args()
    size = args.mib * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as tmp:
        folder = Path(tmp)
        (folder / "logbench.py").write_text(FLOW)
        _, base = _run(folder, "short-lines", 64 * 1024)
        print(f"runner peak RSS with ~no output: {base / 1024:.1f} MB")
        results = {}
        for shape in ("short-lines", "one-line"):
            seconds, peak = _run(folder, shape, size)
            results[shape] = seconds
            growth = (peak - base) / 1024
            print(
                f"{args.mib} MiB {shape:>11}: {seconds:6.2f} s, runner RSS growth {growth:5.1f} MB"
            )
        ratio = results["one-line"] / results["short-lines"]
        print(f"one-line / short-lines time: {ratio:.2f}x (target <= 2x; RSS growth < 50 MB)")


if __name__ == "__main__":
    main()
