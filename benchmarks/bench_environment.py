"""What does recording a run's environment cost at run start, with and without the memo?

Usage: python benchmarks/bench_environment.py [--repeat 5]

Times, each as the median of ``--repeat`` fresh interpreters (import excluded):

- reading every installed distribution's name and version (what a run pays without a memo);
- the same through ``importlib.metadata``'s parsed ``.metadata`` (the obvious way; for scale);
- the fingerprint that keys the memo;
- ``FlowDatastore.record_environment()`` the first time in a datastore (reads, stores the blob
  and the memo) and in a later process (finds the memo: no reading).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

_TIMED = """
import sys, time
import importlib.metadata
from flowkit.datastore import ByteStorage, FlowDatastore
from flowkit.datastore.environment import environment_fingerprint, installed_distributions
what, root = sys.argv[1], sys.argv[2]
started = time.perf_counter()
if what == "distributions":
    installed_distributions()
elif what == "parsed":
    {d.metadata["Name"]: d.version for d in importlib.metadata.distributions()}
elif what == "fingerprint":
    environment_fingerprint()
else:
    FlowDatastore(ByteStorage(root), "BenchFlow").record_environment()
print(time.perf_counter() - started)
"""


def timed(what: str, root: str, repeat: int, fresh_root: bool = False) -> float:
    """Median seconds of one measurement over ``repeat`` new interpreters."""
    samples = []
    for i in range(repeat):
        where = f"{root}-{i}" if fresh_root else root
        out = subprocess.run(
            [sys.executable, "-c", _TIMED, what, where],
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(float(out.stdout.split()[-1]))
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from flowkit.datastore.environment import installed_distributions

    count = len(installed_distributions())
    with tempfile.TemporaryDirectory(prefix="bench-env-") as tmp:
        root = str(Path(tmp) / "ds")
        rows = [
            (
                f"read {count} distributions (headers only)",
                timed("distributions", root, args.repeat),
            ),
            ("  same via parsed .metadata", timed("parsed", root, args.repeat)),
            ("fingerprint (memo key)", timed("fingerprint", root, args.repeat)),
            (
                "record_environment, first in a datastore",
                timed("record", root, args.repeat, fresh_root=True),
            ),
        ]
        timed("record", root, 1)  # the first run in this datastore writes the memo
        rows.append(("record_environment, later runs (memo)", timed("record", root, args.repeat)))
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"{name.ljust(width)}  {seconds * 1000:7.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
