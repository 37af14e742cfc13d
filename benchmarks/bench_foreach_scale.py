"""How a foreach scales with its width: throughput, marginal cost per task, runner memory.

Runs ``flows/fk_foreach_dicts.py`` (start -> ``body`` over W dicts of ~1 KB -> join -> end) with
``python flow.py run`` in a subprocess against a fresh temporary datastore, once per width, plus
a 1-wide run for the fixed cost. Metaflow's twin flow runs beside it when Metaflow is importable
(``--only flowkit`` skips it).

Figures per width:
    wall          the whole command, seconds.
    tasks/s       W / (wall(W) - wall(1)): throughput of the splits, fixed cost removed.
    cpu ms/task   (CPU(W) - CPU(1)) / W, user + system time of the runner and every task process:
                  on a shared machine this moves less with other users' load than wall time.
    ms/task       marginal cost per split while the run is in full swing: the time between the
                  commits of split 10% and split 90%, divided by the splits in between (from
                  the manifests' modification times; flowkit only).
    early / late  the same over splits 10-20% and 80-90%: a cost that grows with the number of
                  finished splits shows as late > early.
    runner MB     peak resident memory of the runner process alone (``VmHWM``, sampled from
                  /proc while it runs), and its resident memory at the end (``VmRSS``).

Targets (issue 11): tasks/s at the widest >= 80% of tasks/s at 1,000; ms/task flat within
20% from 1,000 to the widest; runner memory not growing with the number of finished splits.

Usage::

    python benchmarks/bench_foreach_scale.py                       # widths 1000,10000,100000
    python benchmarks/bench_foreach_scale.py --widths 1000,20000 --only flowkit
    python benchmarks/bench_foreach_scale.py --check               # exit 1 if a target is missed

Exit codes: 0; 1 with ``--check`` when a flowkit target is missed; 2 when a run failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

FLOWS = Path(__file__).resolve().parent / "flows"
FLOW_NAME = "ForeachDictsBench"
THROUGHPUT_RATIO_TARGET = 0.80
MARGINAL_FLAT_TARGET = 0.20


class BenchmarkCrashed(Exception):
    """A benchmark run failed; the message holds its output."""


@dataclass
class Sample:
    """One run of the benchmark flow."""

    width: int
    wall: float
    cpu: float
    peak_mb: float
    end_mb: float
    commits: list[float] = field(default_factory=list)  # body commit times, sorted

    def marginal_ms(self, lo: float, hi: float) -> float | None:
        """Seconds per split between the commits at fractions ``lo`` and ``hi``, in ms."""
        n = len(self.commits)
        a, b = int(n * lo), int(n * hi) - 1
        if n < 20 or b <= a:
            return None
        return (self.commits[b] - self.commits[a]) / (b - a) * 1000


class _RssWatch(threading.Thread):
    """Samples ``VmHWM`` and ``VmRSS`` of one process from /proc until it ends."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.last_kb = 0
        self.stop = threading.Event()

    def run(self) -> None:
        path = f"/proc/{self.pid}/status"
        while not self.stop.is_set():
            try:
                with open(path) as status:
                    for line in status:
                        if line.startswith("VmHWM:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                        elif line.startswith("VmRSS:"):
                            self.last_kb = int(line.split()[1])
            except (OSError, ValueError):
                return
            self.stop.wait(0.2)


def _env(framework: str, scratch: Path) -> dict[str, str]:
    drop = "FLOWKIT_" if framework == "flowkit" else "METAFLOW_"
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    if framework == "flowkit":
        env["FLOWKIT_DATASTORE_ROOT"] = str(scratch / "datastore")
        env["FLOWKIT_CONFIG"] = str(scratch / "no-config.json")
    else:
        home = scratch / "metaflow-home"
        home.mkdir(exist_ok=True)
        env.update(
            METAFLOW_HOME=str(home),
            METAFLOW_DEFAULT_DATASTORE="local",
            METAFLOW_DEFAULT_METADATA="local",
            METAFLOW_DEFAULT_ENVIRONMENT="local",
            METAFLOW_DATASTORE_SYSROOT_LOCAL=str(scratch),
            USERNAME="bench",
        )
    return env


def _command(framework: str, width: int) -> list[str]:
    if framework == "flowkit":
        return [sys.executable, str(FLOWS / "fk_foreach_dicts.py"), "run", "--width", str(width)]
    return [
        sys.executable,
        str(FLOWS / "mf_foreach_dicts.py"),
        "--no-pylint",
        "run",
        "--width",
        str(width),
        "--max-num-splits",
        str(max(width, 1)),
        "--max-workers",
        str(os.cpu_count() or 1),
    ]


def _commit_times(scratch: Path) -> list[float]:
    """Modification times of the body tasks' manifests (the commit point of each split)."""
    runs = scratch / "datastore" / FLOW_NAME / "runs"
    times = []
    for run in runs.iterdir():
        body = run / "body"
        if not body.is_dir():
            continue
        for task in os.scandir(body):
            for entry in os.scandir(task.path):
                if entry.name.endswith(".manifest.json"):
                    times.append(entry.stat().st_mtime)
    return sorted(times)


def measure(framework: str, width: int, timeout: float) -> Sample:
    """Run the flow once at ``width`` and return its figures."""
    scratch = Path(tempfile.mkdtemp(prefix="flowkit-bench-scale-"))
    try:
        with tempfile.TemporaryFile(dir=scratch) as log:
            started = time.perf_counter()
            proc = subprocess.Popen(
                _command(framework, width),
                cwd=scratch,
                env=_env(framework, scratch),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            watch = _RssWatch(proc.pid)
            watch.start()
            timer = threading.Timer(timeout, proc.kill)
            timer.start()
            try:
                _, status, usage = os.wait4(proc.pid, 0)  # rusage of the whole process tree
            finally:
                timer.cancel()
            wall = time.perf_counter() - started
            proc.returncode = code = os.waitstatus_to_exitcode(status)
            watch.stop.set()
            watch.join()
            if code != 0:
                log.seek(0)
                tail = log.read().decode(errors="replace")[-3000:]
                raise BenchmarkCrashed(f"{framework} at width {width} exited {code}:\n{tail}")
        commits = _commit_times(scratch) if framework == "flowkit" else []
        cpu = usage.ru_utime + usage.ru_stime
        return Sample(width, wall, cpu, watch.peak_kb / 1024, watch.last_kb / 1024, commits)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def report(framework: str, fixed: Sample, samples: list[Sample]) -> list[str]:
    """Print the table for one framework; return the missed targets (flowkit only)."""
    print(f"\n{framework}  (fixed cost: 1-wide run {fixed.wall:.2f} s)")
    header = (
        f"{'width':>8} {'wall s':>9} {'tasks/s':>9} {'cpu ms/task':>11} {'ms/task':>8} "
        f"{'early':>7} {'late':>7} {'peak MB':>8} {'end MB':>7}"
    )
    print(header)
    print("-" * len(header))
    rates: dict[int, float] = {}
    marginal: dict[int, float | None] = {}
    for s in samples:
        rate = s.width / max(s.wall - fixed.wall, 1e-9)
        rates[s.width] = rate
        marginal[s.width] = s.marginal_ms(0.1, 0.9)
        cpu_ms = (s.cpu - fixed.cpu) / s.width * 1000
        print(
            f"{s.width:>8} {s.wall:>9.2f} {rate:>9.1f} {cpu_ms:>11.2f} "
            f"{_fmt(marginal[s.width], '.2f'):>8} "
            f"{_fmt(s.marginal_ms(0.1, 0.2), '.2f'):>7} {_fmt(s.marginal_ms(0.8, 0.9), '.2f'):>7} "
            f"{s.peak_mb:>8.1f} {s.end_mb:>7.1f}"
        )
    missed: list[str] = []
    if framework != "flowkit" or len(samples) < 2:
        return missed
    narrow, wide = samples[0], samples[-1]
    ratio = rates[wide.width] / rates[narrow.width]
    print(
        f"throughput at {wide.width} = {ratio:.0%} of {narrow.width} "
        f"(target >= {THROUGHPUT_RATIO_TARGET:.0%})"
    )
    if ratio < THROUGHPUT_RATIO_TARGET:
        missed.append("throughput")
    m_narrow, m_wide = marginal[narrow.width], marginal[wide.width]
    if m_narrow and m_wide:
        change = m_wide / m_narrow - 1
        print(
            f"marginal cost per task {m_narrow:.2f} -> {m_wide:.2f} ms ({change:+.0%}, "
            f"target within +/-{MARGINAL_FLAT_TARGET:.0%})"
        )
        if abs(change) > MARGINAL_FLAT_TARGET:
            missed.append("marginal cost")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", default="1000,10000,100000", help="comma-separated widths")
    parser.add_argument("--only", choices=["flowkit", "metaflow"], help="one framework only")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds per run")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    widths = sorted(int(w) for w in args.widths.split(",") if w.strip())
    frameworks = ["flowkit", "metaflow"]
    if args.only:
        frameworks = [args.only]
    if "metaflow" in frameworks and importlib.util.find_spec("metaflow") is None:
        print("metaflow is not installed: its column is skipped", file=sys.stderr)
        frameworks.remove("metaflow")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, widths {widths}")
    missed: list[str] = []
    try:
        for framework in frameworks:
            fixed = measure(framework, 1, args.timeout)
            samples = []
            for width in widths:
                print(f"  {framework}: width {width} ...", file=sys.stderr, flush=True)
                samples.append(measure(framework, width, args.timeout))
            missed += report(framework, fixed, samples)
    except BenchmarkCrashed as exc:
        print(exc, file=sys.stderr)
        return 2
    if missed:
        print(f"missed targets: {', '.join(missed)}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
