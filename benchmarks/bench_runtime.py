"""Runtime overhead of flowkit next to Metaflow, measured the way users run flows.

Every figure comes from a real subprocess (``python flow.py run``) against a fresh temporary
datastore, repeated N times; the table quotes medians. Runs of the two frameworks are
interleaved so that a noisy neighbour slows both alike and the ratio stays meaningful.

Benchmarks:
    import           ``import flowkit`` / ``import metaflow`` in a fresh interpreter, timed inside
                     it (interpreter start-up is excluded).
    import API       ``from X import FlowSpec, step, Parameter``, what every flow file does.
    linear           a 5-step linear flow, wall clock of the whole command.
    foreach w=1      start -> 1-way foreach -> join -> end: the fixed cost of a foreach run.
    foreach w=W      the same with W splits (default 500).
    per-task         (foreach w=W - foreach w=1) / (W - 1), from the medians.
    metadata files   files under the run's folder (blobs under ``<Flow>/data/`` excluded) / tasks.
    peak RSS         largest resident set of the runner or any of its task processes (wait4).

Usage::

    python benchmarks/bench_runtime.py --repeat 3
    python benchmarks/bench_runtime.py --only flowkit --check   # exit 1 if a target is missed

Exit codes: 0 normally; 1 with ``--check`` when a flowkit target is missed; 2 when a benchmark
run itself failed (its output is shown).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

FLOWS = Path(__file__).resolve().parent / "flows"
TASKS_AROUND_FOREACH = 3  # start, join, end

# Targets from the issue, for flowkit only: (bench key, limit, unit).
PER_TASK_TARGET_S = 0.015
FOREACH_500_TARGET_S = 7.5
TARGETS = {
    "import": 0.100,
    "linear": 0.500,
    "per_task": PER_TASK_TARGET_S,
    "metadata": 3.0,
}


class BenchmarkCrashed(Exception):
    """A benchmark subprocess failed or timed out; the message holds its output."""


@dataclass
class Sample:
    """One timed subprocess.

    Attributes:
        seconds: Wall clock from spawn to reap.
        peak_rss_mb: ``ru_maxrss`` of the process tree (max of any one process, not a sum).
        metadata_files: Files in the run's folder, excluding artifact blobs (flow runs only).
    """

    seconds: float
    peak_rss_mb: float = 0.0
    metadata_files: int | None = None


class Framework:
    """How to run a benchmark flow with one framework; subclasses fill in the differences."""

    name = ""
    module = ""
    prefix = ""

    def installed(self) -> bool:
        """True when the framework is importable by this interpreter."""
        return importlib.util.find_spec(self.module) is not None

    def version(self) -> str:
        """The installed distribution's version, or ``"-"``."""
        try:
            return importlib.metadata.version(self.module)
        except importlib.metadata.PackageNotFoundError:
            return "-"

    def flow_file(self, kind: str) -> Path:
        """The benchmark flow file, e.g. ``flows/fk_linear.py``."""
        return FLOWS / f"{self.prefix}_{kind}.py"

    def env(self, scratch: Path) -> dict[str, str]:
        """The environment of a run whose datastore lives under ``scratch``."""
        raise NotImplementedError

    def run_args(self, kind: str, width: int | None) -> list[str]:
        """Arguments after the flow file."""
        raise NotImplementedError

    def run_folder(self, scratch: Path, flow_name: str) -> Path | None:
        """The single run's folder under ``scratch`` after one run."""
        raise NotImplementedError

    @staticmethod
    def _clean_env(drop_prefix: str) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith(drop_prefix)}


class Flowkit(Framework):
    name, module, prefix = "flowkit", "flowkit", "fk"

    def env(self, scratch: Path) -> dict[str, str]:
        env = self._clean_env("FLOWKIT_")
        env["FLOWKIT_DATASTORE_ROOT"] = str(scratch / "datastore")
        env["FLOWKIT_CONFIG"] = str(scratch / "no-config.json")  # ignore ~/.flowkit/config.json
        return env

    def run_args(self, kind: str, width: int | None) -> list[str]:
        # Default --max-workers (number of cores): the targets are stated for it.
        return ["run"] + (["--width", str(width)] if width is not None else [])

    def run_folder(self, scratch: Path, flow_name: str) -> Path | None:
        runs = sorted((scratch / "datastore" / flow_name / "runs").glob("*"))
        return runs[0] if len(runs) == 1 else None


class Metaflow(Framework):
    name, module, prefix = "metaflow", "metaflow", "mf"

    def __init__(self, max_workers: int | None) -> None:
        self.max_workers = max_workers

    def env(self, scratch: Path) -> dict[str, str]:
        env = self._clean_env("METAFLOW_")
        # An empty home: no ~/.metaflowconfig profile can point metaflow at a service.
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

    def run_args(self, kind: str, width: int | None) -> list[str]:
        # --no-pylint: linting the flow is not runtime overhead, and would make the figure depend
        # on whether pylint happens to be installed.
        args = ["--no-pylint", "run"]
        if self.max_workers:
            args += ["--max-workers", str(self.max_workers)]
        if width is not None:
            args += ["--width", str(width), "--max-num-splits", str(max(width, 1))]
        return args

    def run_folder(self, scratch: Path, flow_name: str) -> Path | None:
        runs = [p for p in (scratch / ".metaflow" / flow_name).glob("*") if p.name.isdigit()]
        return runs[0] if len(runs) == 1 else None


def count_metadata_files(run_folder: Path | None) -> int | None:
    """Files under a run's folder; artifact blobs live beside it in ``<Flow>/data/``."""
    if run_folder is None:
        return None
    return sum(len(files) for _, _, files in os.walk(run_folder))


def timed_subprocess(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: float
) -> tuple[Sample, int, str]:
    """Run ``cmd``, returning its sample, exit code and combined output.

    ``os.wait4`` reaps the child so its rusage (peak RSS of the tree) comes for free; output
    goes to a file rather than a pipe so a chatty flow cannot stall on a full pipe.
    """
    with tempfile.TemporaryFile(dir=cwd) as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        timed_out = threading.Event()

        def on_timeout() -> None:
            timed_out.set()
            _kill_group(proc.pid)

        timer = threading.Timer(timeout, on_timeout)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            _kill_group(proc.pid)
            raise
        finally:
            timer.cancel()
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        log.seek(0)
        output = log.read().decode(errors="replace")
    if timed_out.is_set():
        output += f"\n(killed after the {timeout:.0f} s timeout)"
    return Sample(elapsed, usage.ru_maxrss / 1024), proc.returncode, output


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


class Bench:
    """Runs the benchmarks and keeps every sample."""

    def __init__(self, args: argparse.Namespace, frameworks: list[Framework]) -> None:
        self.args = args
        self.frameworks = frameworks
        self.samples: dict[tuple[str, str], list[Sample]] = {}
        self.scratch_root = Path(tempfile.mkdtemp(prefix="flowkit-bench-"))

    def width_for(self, fw: Framework) -> int:
        if isinstance(fw, Metaflow) and self.args.metaflow_width:
            return min(int(self.args.metaflow_width), int(self.args.width))
        return int(self.args.width)

    def _say(self, message: str) -> None:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    def _scratch(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self.scratch_root))

    def measure_import(self, fw: Framework, key: str, statement: str) -> None:
        code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
        scratch = self._scratch()
        try:
            result = subprocess.run(
                [sys.executable, "-c", code],
                cwd=scratch,
                env=fw.env(scratch),
                capture_output=True,
                text=True,
                timeout=self.args.timeout,
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if result.returncode != 0:
            raise BenchmarkCrashed(f"{fw.name}: `{statement}` failed:\n{result.stderr}")
        self.samples.setdefault((fw.name, key), []).append(Sample(float(result.stdout.split()[-1])))

    def measure_flow(
        self, fw: Framework, key: str, kind: str, flow_name: str, width: int | None
    ) -> Sample:
        scratch = self._scratch()
        cmd = [sys.executable, str(fw.flow_file(kind)), *fw.run_args(kind, width)]
        try:
            sample, code, output = timed_subprocess(
                cmd, scratch, fw.env(scratch), self.args.timeout
            )
            if code != 0:
                tail = "\n".join(output.splitlines()[-40:])
                raise BenchmarkCrashed(
                    f"{fw.name}: `{' '.join(cmd[1:])}` exited with {code}:\n{tail}"
                )
            sample.metadata_files = count_metadata_files(fw.run_folder(scratch, flow_name))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        self.samples.setdefault((fw.name, key), []).append(sample)
        return sample

    def run(self) -> None:
        n = self.args.repeat
        for fw in self.frameworks:  # untimed: warm the page cache and write .pyc files
            self.measure_flow(fw, "warmup", "linear", "LinearBench", None)
        for _ in range(n * 3):  # imports are cheap and noisy: three times as many
            for fw in self.frameworks:
                self.measure_import(fw, "import", f"import {fw.module}")
                self.measure_import(
                    fw, "import_api", f"from {fw.module} import FlowSpec, Parameter, step"
                )
        self._say(f"imports measured ({n * 3} times each)")
        for rep in range(1, n + 1):
            for fw in self.frameworks:
                s = self.measure_flow(fw, "linear", "linear", "LinearBench", None)
                self._say(f"[{rep}/{n}] {fw.name:8} linear        {s.seconds:8.2f} s")
                s = self.measure_flow(fw, "foreach1", "foreach", "ForeachBench", 1)
                self._say(f"[{rep}/{n}] {fw.name:8} foreach w=1   {s.seconds:8.2f} s")
                w = self.width_for(fw)
                s = self.measure_flow(fw, "foreachW", "foreach", "ForeachBench", w)
                self._say(
                    f"[{rep}/{n}] {fw.name:8} foreach w={w:<4}{s.seconds:8.2f} s  "
                    f"peak RSS {s.peak_rss_mb:.0f} MB, {s.metadata_files} metadata files"
                )

    def median(self, fw: str, key: str, attr: str = "seconds") -> float | None:
        values = [
            getattr(s, attr)
            for s in self.samples.get((fw, key), [])
            if getattr(s, attr) is not None
        ]
        return statistics.median(values) if values else None

    def figures(self, fw: Framework) -> dict[str, float | None]:
        """Medians per benchmark, plus the derived per-task overhead and foreach extrapolation."""
        w = self.width_for(fw)
        fig: dict[str, float | None] = {
            "import": self.median(fw.name, "import"),
            "import_api": self.median(fw.name, "import_api"),
            "linear": self.median(fw.name, "linear"),
            "foreach1": self.median(fw.name, "foreach1"),
            "foreachW": self.median(fw.name, "foreachW"),
            "rss": self.median(fw.name, "foreachW", "peak_rss_mb"),
        }
        files = self.median(fw.name, "foreachW", "metadata_files")
        fig["metadata"] = files / (w + TASKS_AROUND_FOREACH) if files is not None else None
        if fig["foreachW"] is not None and fig["foreach1"] is not None and w > 1:
            fig["per_task"] = (fig["foreachW"] - fig["foreach1"]) / (w - 1)
            if w != self.args.width:  # reduced width: extrapolate linearly to the full width
                fig["foreachW"] = fig["foreach1"] + fig["per_task"] * (self.args.width - 1)
        else:
            fig["per_task"] = None
        return fig


# -- report ------------------------------------------------------------------------------------


def machine_facts() -> dict[str, str]:
    """What the figures were measured on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 1
    mem = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    startup_ms = (time.perf_counter() - started) * 1000
    return {
        "cores": f"{os.cpu_count()} ({usable} usable)",
        "cpu": model,
        "memory": mem,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
        "interpreter start-up": f"{startup_ms:.0f} ms (`python -c pass`)",
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"
    if unit == "ms":
        return f"{value * 1000:.1f} ms"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:.2f}"


def report(bench: Bench, fk: Framework | None, mf: Framework | None, mf_state: str) -> bool:
    """Print the facts and the figures table; return True when every flowkit target is met."""
    args = bench.args
    fkf = bench.figures(fk) if fk else {}
    mff = bench.figures(mf) if mf else {}
    mf_w = bench.width_for(mf) if mf else args.width
    extrapolated = mf is not None and mf_w != args.width
    # The issue states 7.5 s for w=500 only; at other widths the run's fixed cost would make a
    # scaled target meaningless, so the per-task row is the one to judge.
    width_target = FOREACH_500_TARGET_S if args.width == 500 else None
    rows = [
        ("import", "`import X`", "ms", TARGETS["import"]),
        ("import_api", "`from X import FlowSpec, Parameter, step`", "ms", None),
        ("linear", "linear 5-step run", "s", TARGETS["linear"]),
        ("foreach1", "foreach w=1 run (baseline)", "s", None),
        ("foreachW", f"foreach w={args.width} run", "s", width_target),
        ("per_task", "per-task overhead", "ms", TARGETS["per_task"]),
        ("metadata", "metadata files per task", "", TARGETS["metadata"]),
        ("rss", f"peak RSS, foreach w={args.width}", "MB", None),
    ]
    print("| benchmark | flowkit median | metaflow median | ratio (mf/fk) | target | pass/fail |")
    print("|---|---|---|---|---|---|")
    all_met = True
    for key, label, unit, target in rows:
        fv = fkf.get(key)
        mv = mff.get(key)
        fcell = _fmt(fv, unit) if fk else "skipped"
        approx = "~" if extrapolated and key in ("foreachW", "rss", "metadata", "per_task") else ""
        if key == "foreachW" and extrapolated:
            mcell = f"~{_fmt(mv, unit)} (extrapolated from w={mf_w})"
        elif mf:
            mcell = _fmt(mv, unit) + (f" (w={mf_w})" if approx else "")
        else:
            mcell = mf_state
        ratio = f"{approx}{mv / fv:.1f}x" if fv and mv else "-"
        tcell = f"<= {_fmt(target, unit)}" if target is not None else "-"
        if target is None or fv is None:
            verdict = "-"
        else:
            met = fv <= target
            all_met &= met
            verdict = "pass" if met else "FAIL"
        print(f"| {label} | {fcell} | {mcell} | {ratio} | {tcell} | {verdict} |")
    print()
    print(
        f"Medians of {args.repeat} runs ({args.repeat * 3} for imports); each run is a fresh "
        "`python flow.py run` subprocess against an empty temporary datastore."
    )
    print(
        "per-task overhead = (foreach w=W - foreach w=1) / (W - 1). "
        "Peak RSS: the largest single process of the run (runner or task), from wait4."
    )
    if mf:
        workers = getattr(mf, "max_workers", None) or "default (16)"
        print(
            f"metaflow ran with --max-workers {workers} and --no-pylint; "
            "flowkit with its default --max-workers (number of cores)."
        )
    if extrapolated:
        print(
            f"NOTE: metaflow's foreach ran at w={mf_w}, not w={args.width} (--metaflow-width). "
            f"Its w={args.width} figure is extrapolated as t(w=1) + (W-1) x per-task overhead "
            f"measured at w={mf_w}; ratios marked ~ compare figures from different widths."
        )
    return all_met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per benchmark (default 5)")
    parser.add_argument("--width", type=int, default=500, help="foreach width (default 500)")
    parser.add_argument(
        "--only", choices=["flowkit", "metaflow"], help="benchmark one framework only"
    )
    parser.add_argument(
        "--metaflow-width",
        type=int,
        default=None,
        help="run metaflow's foreach at this smaller width and extrapolate",
    )
    parser.add_argument(
        "--metaflow-max-workers",
        type=int,
        default=None,
        help="metaflow's --max-workers (default: number of usable cores, like "
        "flowkit's default; 0 = metaflow's own default of 16)",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds before a run is killed"
    )
    parser.add_argument("--json", type=Path, help="also write every sample and median here")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a flowkit target is missed"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.width < 2:
        parser.error("--repeat must be >= 1 and --width >= 2")
    if args.metaflow_width is not None and args.metaflow_width < 2:
        parser.error("--metaflow-width must be >= 2")

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    mf_workers = cores if args.metaflow_max_workers is None else (args.metaflow_max_workers or None)
    fk: Framework | None = Flowkit() if args.only != "metaflow" else None
    mf: Framework | None = Metaflow(mf_workers) if args.only != "flowkit" else None
    mf_state = "skipped (--only flowkit)"
    if mf is not None and not mf.installed():
        mf, mf_state = None, "metaflow: not installed"
    if fk is not None and not fk.installed():
        print("flowkit is not importable by this interpreter", file=sys.stderr)
        return 2
    frameworks = [f for f in (fk, mf) if f is not None]

    facts = machine_facts()
    for fw in frameworks:
        facts[fw.name] = fw.version()
    print("Machine:")
    for name, value in facts.items():
        print(f"  {name + ':':22}{value}")
    sys.stdout.flush()

    bench = Bench(args, frameworks)
    try:
        bench.run()
    except BenchmarkCrashed as exc:
        print(f"benchmark crashed: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(bench.scratch_root, ignore_errors=True)
    print(f"  {'load average (end):':22}{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    all_met = report(bench, fk, mf, mf_state)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": facts,
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "medians": {fw.name: bench.figures(fw) for fw in frameworks},
                    "samples": {
                        f"{f}/{k}": [asdict(s) for s in v] for (f, k), v in bench.samples.items()
                    },
                },
                indent=2,
            )
        )
    if fk is not None and not all_met:
        print("\nflowkit misses at least one target.")
        return 1 if args.check else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
