"""A 500-way foreach on a local folder and on S3, in one run: both wall times and their ratio.

The script starts SeaweedFS (or moto) on 127.0.0.1 with the test suite's helpers, then runs
``python flows/fk_foreach.py run`` alternately against a fresh temporary folder and a fresh
prefix of the server, ``--repeat`` times, so that a noisy neighbour slows both alike; it prints
the medians, the ratio of the medians and the median of the per-repeat ratios, and stops the
server. It also prints the CPU time each run cost (the flow's processes, and the server's),
which a busy machine inflates far less than wall times. Metaflow's ``flows/mf_foreach.py`` is
measured the same way beside it when Metaflow is installed (at ``--metaflow-width``: its S3
tasks take seconds each). Nothing leaves 127.0.0.1.

    python benchmarks/bench_s3_foreach.py                    # w=500, SeaweedFS, 3 repeats
    python benchmarks/bench_s3_foreach.py --repeat 5 --max-workers 4 --json out.json
    python benchmarks/bench_s3_foreach.py --check            # exit 1 if S3 > 4x local

The target of issue 12 (point 8): S3 no slower than 4x the local folder (median of 3).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

from bench_s3 import FLOWS, Flowkit, Framework, Metaflow, _run, _say
from s3servers import STARTERS, S3Server, ServerUnavailable

TARGET_RATIO = 4.0


def _local_env(fw: Framework, folder: Path) -> dict[str, str]:
    """``fw``'s environment for a datastore in ``folder`` (the server's variables stay unused)."""
    if isinstance(fw, Flowkit):
        return fw.env(str(folder))
    env = fw.env("s3://unused")
    env.update(METAFLOW_DEFAULT_DATASTORE="local", METAFLOW_DATASTORE_SYSROOT_LOCAL=str(folder))
    return env


def _command(fw: Framework, width: int, max_workers: int | None) -> list[str]:
    cmd = fw.foreach_cmd(width)
    if max_workers and isinstance(fw, Flowkit):
        cmd += ["--max-workers", str(max_workers)]
    elif max_workers:
        cmd[cmd.index("--max-workers") + 1] = str(max_workers)
    return cmd


def _server_cpu(server: S3Server) -> float:
    """CPU seconds the server process has used so far (0 when it cannot be read)."""
    if server.process is None:
        return 0.0
    try:
        fields = Path(f"/proc/{server.process.pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _timed(
    cmd: list[str], env: dict[str, str], fw: Framework, timeout: float
) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds of the run's processes, and of the server meanwhile."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = _server_cpu(fw.server)
    wall, _ = _run(cmd, env, fw.scratch, timeout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, _server_cpu(fw.server) - server_before


def measure(fw: Framework, width: int, args: argparse.Namespace) -> dict[str, list[float]]:
    """Wall and CPU times of ``args.repeat`` local and S3 runs, alternated."""
    samples: dict[str, list[float]] = {k: [] for k in ("local", "s3", "local_cpu", "s3_cpu")}
    samples["server_cpu"] = []
    cmd = _command(fw, width, args.max_workers)
    for repeat in range(args.repeat):
        folder = fw.scratch / f"local-{fw.name}-{uuid.uuid4().hex[:8]}"
        root = fw.root()
        try:
            local, local_cpu, _ = _timed(cmd, _local_env(fw, folder), fw, args.timeout)
            remote, remote_cpu, server_cpu = _timed(cmd, fw.env(root), fw, args.timeout)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            fw.server.clear(root.split("/", 3)[3])
        for key, value in zip(
            samples, (local, remote, local_cpu, remote_cpu, server_cpu), strict=True
        ):
            samples[key].append(value)
        _say(
            f"  {fw.name} w={width} #{repeat + 1}: local {local:.2f} s, {fw.server.name} "
            f"{remote:.2f} s ({remote / local:.1f}x); CPU {local_cpu:.1f} s vs {remote_cpu:.1f} s "
            f"+ {server_cpu:.1f} s in the server"
        )
    return samples


def report(rows: dict[str, tuple[int, dict[str, list[float]]]], args: argparse.Namespace) -> float:
    """Print the table; return flowkit's ratio of medians."""
    print(
        f"\n{args.width}-way foreach, local folder vs {args.server} on 127.0.0.1 "
        f"(medians of {args.repeat}, {os.cpu_count()} cores, "
        f"--max-workers {args.max_workers or 'default'})\n"
    )
    print(
        "| framework | width | local folder | S3 | S3 / local | median of ratios "
        "| CPU local | CPU S3 (+ server) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    flowkit_ratio = float("nan")
    for name, (width, samples) in rows.items():
        local, remote = (statistics.median(samples[k]) for k in ("local", "s3"))
        ratios = [r / lo for lo, r in zip(samples["local"], samples["s3"], strict=True)]
        ratio = remote / local
        if name == "flowkit":
            flowkit_ratio = ratio
        cpu = {k: statistics.median(samples[k]) for k in ("local_cpu", "s3_cpu", "server_cpu")}
        print(
            f"| {name} | {width} | {local:.2f} s | {remote:.2f} s | {ratio:.1f}x | "
            f"{statistics.median(ratios):.1f}x | {cpu['local_cpu']:.1f} s | "
            f"{cpu['s3_cpu']:.1f} s (+ {cpu['server_cpu']:.1f} s) |"
        )
    print(f"\ntarget: S3 <= {TARGET_RATIO:g}x local for flowkit: ", end="")
    print("met" if flowkit_ratio <= TARGET_RATIO else "missed")
    if args.json:
        data = {n: {"width": w, "samples": s} for n, (w, s) in rows.items()}
        Path(args.json).write_text(json.dumps({"results": data, "args": vars(args)}, indent=2))
    return flowkit_ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=sorted(STARTERS), default="seaweedfs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--width", type=int, default=500)
    parser.add_argument("--max-workers", type=int, default=None, help="default: flowkit's")
    parser.add_argument("--metaflow-width", type=int, default=10)
    parser.add_argument("--only", choices=["flowkit", "metaflow"])
    parser.add_argument("--timeout", type=float, default=900, help="per run, seconds")
    parser.add_argument("--json", help="write every sample here")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    args = parser.parse_args(argv)
    if not (FLOWS / "fk_foreach.py").exists():
        parser.error(f"{FLOWS / 'fk_foreach.py'} is missing")

    scratch = Path(tempfile.mkdtemp(prefix="flowkit-bench-s3-foreach-"))
    try:
        try:
            server = STARTERS[args.server](scratch / "server")
        except ServerUnavailable as exc:
            _say(f"cannot start {args.server}: {exc}")
            return 2
        rows: dict[str, tuple[int, dict[str, list[float]]]] = {}
        try:
            if args.only != "metaflow":
                fw: Framework = Flowkit(server, scratch)
                _say(f"flowkit, local folder and {server.name}:")
                rows["flowkit"] = (args.width, measure(fw, args.width, args))
            if args.only != "flowkit":
                if Metaflow.installed():
                    fw = Metaflow(server, scratch)
                    width = min(args.metaflow_width, args.width)
                    _say(f"metaflow, local folder and {server.name}:")
                    rows["metaflow"] = (width, measure(fw, width, args))
                else:
                    _say("Metaflow is not installed: flowkit figures only")
        except RuntimeError as exc:
            _say(f"a run failed: {exc}")
            return 2
        finally:
            server.stop()
        ratio = report(rows, args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if args.check and not ratio <= TARGET_RATIO else 0


if __name__ == "__main__":
    sys.exit(main())
