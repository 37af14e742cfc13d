"""How closely the Batch API throttle holds its rate: wall time of N calls through one gate.

Usage: python benchmarks/bench_throttle.py [--rate 50] [--burst 2] [--calls 100]

The first ``burst`` calls go at once, the rest at ``rate`` per second, so the expected time is
``(calls - burst) / rate``. Prints the measured and expected times and their ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flowkit_batch.api import Throttle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--burst", type=int, default=2)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    gate = Throttle(rate=args.rate, burst=args.burst)
    started = time.monotonic()
    for _ in range(args.calls):
        gate.wait()
    took = time.monotonic() - started
    expected = max(0, args.calls - args.burst) / args.rate
    print(f"{args.calls} calls at rate {args.rate}/s, burst {args.burst}")
    print(f"  measured {took:.3f} s, expected {expected:.3f} s, ratio {took / expected:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
