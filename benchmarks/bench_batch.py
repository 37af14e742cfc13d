"""A wide foreach on AWS Batch: how the executor copes with 500 splits.

Usage: python benchmarks/bench_batch.py [--width 500] [--slots 4]

Runs ``flows/fk_batch_foreach.py`` (start -> body on Batch over ``range(width)`` -> join -> end)
against the test suite's fake AWS: a moto server on 127.0.0.1 whose Batch really runs each job
as a subprocess (``tests/batch/moto_batch_server.py``), ``--slots`` at a time, like a compute
environment of that size. Nothing leaves the machine.

Prints the run's wall time, the Batch API requests flowkit made (read from the server's request
log) and the end step's check of the result. What is measured is flowkit's side — one array job
instead of ``width`` submissions, describe calls 100 jobs at a time with backoff, log reads within
their quota — plus the fake's cost of starting ``width`` Python processes on this machine, which
dominates here; on AWS, the compute environment's size and start-up latency do instead.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"
sys.path.insert(0, str(TESTS))

from fakebatch import IMAGE, QUEUE, start_fake_batch  # noqa: E402

_REQUEST = re.compile(r'"POST /v1/(\w+) HTTP')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=500)
    parser.add_argument("--slots", type=int, default=4, help="jobs the fake runs at once")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    os.environ["FAKE_BATCH_SLOTS"] = str(args.slots)  # read by the server at start
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        fake = start_fake_batch(Path(tmp))
        try:
            env = fake.server.env()
            env.update(
                FLOWKIT_DATASTORE_ROOT=fake.server.url("bench"),
                FLOWKIT_BATCH_QUEUE=QUEUE,
                FLOWKIT_BATCH_IMAGE=IMAGE,
                FLOWKIT_BATCH_POLL_INTERVAL="2",
            )
            flow = HERE / "flows" / "fk_batch_foreach.py"
            argv = [sys.executable, str(flow), "run", "--width", str(args.width)]
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            proc = subprocess.run(
                argv, env=env, cwd=tmp, capture_output=True, text=True, timeout=args.timeout
            )
            elapsed = time.perf_counter() - started
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            # The run and its local tasks only: the jobs are the fake server's children.
            runner_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (
                cpu_before.ru_utime + cpu_before.ru_stime
            )
            if proc.returncode != 0:
                print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
                return 2
            requests = Counter(_REQUEST.findall(fake.server.log_path.read_text()))
        finally:
            fake.server.stop()
    expected = args.width * (args.width - 1) // 2
    cores = os.cpu_count()
    per_split = elapsed / args.width * 1000
    print(f"foreach of {args.width} splits on the fake Batch ({args.slots} slots, {cores} cores)")
    print(f"  wall time                 {elapsed:8.1f} s  ({per_split:.0f} ms per split)")
    runner_per_split = runner_cpu / args.width * 1000
    print(f"  runner CPU (flowkit side) {runner_cpu:8.1f} s  ({runner_per_split:.0f} ms per split)")
    for name in ("submitjob", "describejobs", "terminatejob", "registerjobdefinition"):
        print(f"  {name:<25} {requests.get(name, 0):8d} requests")
    print(f"  result checked            {'yes' if f'total {expected}' in proc.stdout else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
