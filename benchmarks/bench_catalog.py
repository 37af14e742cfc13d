"""The data catalog on big tables: 1,000,000 rows loaded and saved through ``self.catalog``
against PostgreSQL and parquet on S3, next to plain pandas doing the same in the same run.

The script starts a throw-away PostgreSQL and a SeaweedFS S3 server on 127.0.0.1 with the test
suite's helpers, and stops them at the end. Every measurement runs in a fresh process, which
builds (or not) the DataFrame, resets its peak-RSS mark (``/proc/self/clear_refs``), does one
operation and reports its wall time and how far its peak RSS rose above where it started.
Medians of ``--repeat`` runs are printed, with the catalog's ratio to plain pandas; the two
sides take turns, repeat by repeat, so the shared machine's changing load weighs on both. Both sides
first make one tiny request through what they then use, because a process's first request is a
fixed cost whatever the data: in the S3 cases they fetch a 4-byte object (pandas: fsspec's
``s3`` filesystem with the same options; the catalog: a ``bytes`` dataset with the same
credential), which loads botocore's service model and opens its HTTP session; in the
PostgreSQL cases they run ``SELECT 1`` (pandas: ``read_sql`` on its engine; the catalog: a
``sql_query`` dataset with the same credential), which imports psycopg and SQLAlchemy's dialect
and opens the connection the pool then reuses. That cost is printed apart, then the peak mark
is reset.

    python benchmarks/bench_catalog.py                   # 1,000,000 rows, 3 repeats
    python benchmarks/bench_catalog.py --rows 2000 --repeat 1 --json out.json
    python benchmarks/bench_catalog.py --case "pg load" --case "s3 save"   # some cases only

Rows (catalog = ``TaskCatalog.load/save``, what ``self.catalog`` is in a step; it also hashes
the data for lineage):

* pg load: ``sql_table`` read by binary ``COPY`` into preallocated columns (hashed in
  slices) vs ``pandas.read_sql(SELECT *)``;
* pg save: ``sql_table`` written with ``COPY`` in chunks vs ``DataFrame.to_sql`` (pandas'
  default inserts), both replacing the table;
* s3 load / save: ``parquet`` dataset vs ``pandas.read_parquet`` / ``to_parquet`` on the
  ``s3://`` URL with the same keys.

Targets (issue 16): time within 1.3x of plain pandas, peak memory within 1.5x the DataFrame.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))  # the servers' helpers live with the tests

CASES = [
    ("pg", "load"),
    ("pg", "save"),
    ("s3", "load"),
    ("s3", "save"),
]

CATALOG = """
[datasets.pg_table]
type = "sql_table"
location = "postgresql+psycopg://flowkit@127.0.0.1:${BENCH_PGPORT}/shop"
table = "bench"
credential = "warehouse"

[datasets.pg_ping]
type = "sql_query"
location = "postgresql+psycopg://flowkit@127.0.0.1:${BENCH_PGPORT}/shop"
query = "SELECT 1 AS one"
credential = "warehouse"

[datasets.s3_table]
type = "parquet"
location = "s3://${BENCH_BUCKET}/bench/table/"
credential = "s3_keys"

[datasets.s3_ping]
type = "bytes"
location = "s3://${BENCH_BUCKET}/bench/ping.bin"
credential = "s3_keys"

[credentials.warehouse]
source = "env"
env = { password = "BENCH_PGPASSWORD" }

[credentials.s3_keys]
source = "env"
env = { key = "BENCH_S3_KEY", secret = "BENCH_S3_SECRET" }
"""

CHILD = r"""
import json, os, sys, time
import numpy as np, pandas as pd
kind, op, how, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def frame():
    rng = np.random.default_rng(7)
    return pd.DataFrame({
        "order_id": np.arange(rows, dtype="int64"),
        "amount": rng.random(rows) * 100,
        "quantity": rng.integers(1, 20, rows),
        "region": rng.choice(["emea", "apac", "amer", "latam"], rows).astype(object),
    })

def rss_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])

pg_url = f"postgresql+psycopg://flowkit:{os.environ['BENCH_PGPASSWORD']}@127.0.0.1:" \
         f"{os.environ['BENCH_PGPORT']}/shop"
s3_url = f"s3://{os.environ['BENCH_BUCKET']}/bench/table/data.parquet"
s3_options = {"key": os.environ["BENCH_S3_KEY"], "secret": os.environ["BENCH_S3_SECRET"],
              "endpoint_url": os.environ["BENCH_S3_ENDPOINT"]}
data = frame() if op == "save" else None
if how == "catalog":
    from flowkit.catalog import TaskCatalog
    catalog = TaskCatalog()
    catalog.config  # read the catalog file before timing
else:
    import sqlalchemy
    engine = sqlalchemy.create_engine(pg_url)
import s3fs, sqlalchemy, pyarrow.parquet  # imports are not what is measured

def reset_peak():
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # reset VmHWM: the peak from here on
    return rss_kb("VmRSS:")

# A process's first request to a server is a fixed cost, not data: for S3 it loads botocore's
# service model and opens its HTTP session; for PostgreSQL it imports the driver and
# SQLAlchemy's dialect and connects. Both sides make one tiny request through what they then
# use (the same filesystem / engine / catalog) first; its cost is reported apart.
before_kb = reset_peak()
if kind == "s3" and how == "catalog":
    catalog.load("s3_ping")
elif kind == "s3":
    import fsspec
    fsspec.filesystem("s3", **s3_options).cat_file(s3_url.rsplit("/", 2)[0] + "/ping.bin")
elif how == "catalog":
    catalog.load("pg_ping")
else:
    pd.read_sql("SELECT 1 AS one", engine)
warmup_kb = rss_kb("VmHWM:") - before_kb
start_kb = reset_peak()
started = time.perf_counter()
if how == "catalog":
    name = "pg_table" if kind == "pg" else "s3_table"
    if op == "load":
        data = catalog.load(name)
    else:
        catalog.save(name, data)
else:
    if kind == "pg" and op == "load":
        data = pd.read_sql("SELECT * FROM bench", engine)
    elif kind == "pg":
        data.to_sql("bench", engine, if_exists="replace", index=False)
    elif op == "load":
        data = pd.read_parquet(s3_url, storage_options=s3_options)
    else:
        data.to_parquet(s3_url, storage_options=s3_options, index=False)
seconds = time.perf_counter() - started
peak_kb = rss_kb("VmHWM:")
assert len(data) == rows, len(data)
print("RESULT " + json.dumps({
    "seconds": seconds,
    "peak_mb": (peak_kb - start_kb) / 1024,
    "frame_mb": data.memory_usage(deep=True).sum() / 2**20,
    "warmup_mb": warmup_kb / 1024,
}))
"""


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _measure(kind: str, op: str, how: str, rows: int, env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, kind, op, how, str(rows)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise RuntimeError(f"{kind} {op} {how} failed:\n{done.stdout}\n{done.stderr}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", default=None, help="also write the medians to this file")
    parser.add_argument(
        "--case",
        action="append",
        choices=[f"{kind} {op}" for kind, op in CASES],
        help="measure only this case (repeatable; default: all)",
    )
    args = parser.parse_args(argv)
    cases = [(kind, op) for kind, op in CASES if not args.case or f"{kind} {op}" in args.case]

    from pgserver import start_postgres
    from s3servers import start_seaweedfs

    work = Path(tempfile.mkdtemp(prefix="fk-bench-catalog-"))
    _say("starting PostgreSQL and SeaweedFS on 127.0.0.1 ...")
    postgres = start_postgres()
    s3 = None
    try:
        s3 = start_seaweedfs(work / "seaweedfs")
        (work / "catalog.toml").write_text(CATALOG)
        env = dict(os.environ)
        env.update(
            PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
            FLOWKIT_CATALOG=str(work / "catalog.toml"),
            BENCH_PGPORT=str(postgres.port),
            BENCH_PGPASSWORD=postgres.password,
            BENCH_BUCKET=s3.bucket,
            BENCH_S3_KEY=s3.access_key,
            BENCH_S3_SECRET=s3.secret_key,
            BENCH_S3_ENDPOINT=s3.endpoint,
            FLOWKIT_S3_ENDPOINT_URL=s3.endpoint,
            AWS_REGION="us-east-1",
        )
        s3.client().put_object(Bucket=s3.bucket, Key="bench/ping.bin", Body=b"ping")
        results: dict[str, dict[str, float]] = {}
        for kind, op in cases:
            if op == "load":  # loads read what a save wrote (each save replaces the table/file)
                _measure(kind, "save", "catalog", args.rows, env)
            runs: dict[str, list[dict[str, float]]] = {"pandas": [], "catalog": []}
            # pandas and the catalog take turns, so a change in the shared machine's load
            # during the case weighs on both sides alike
            for _ in range(args.repeat):
                for how, done in runs.items():
                    done.append(_measure(kind, op, how, args.rows, env))
                    _say(f"{kind} {op} {how}: {done[-1]['seconds']:.2f} s")
            for how, done in runs.items():
                results[f"{kind} {op} {how}"] = {
                    key: statistics.median(r[key] for r in done) for key in done[0]
                }
        _print(results, cases, args.rows, args.repeat)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
    finally:
        if s3 is not None:
            s3.stop()
        postgres.stop()
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


def _print(
    results: dict[str, dict[str, float]], cases: list[tuple[str, str]], rows: int, repeat: int
) -> None:
    print(f"\n{rows:,} rows, medians of {repeat}")
    print(
        f"{'case':<10} {'pandas s':>9} {'catalog s':>10} {'ratio':>6}   "
        f"{'frame MB':>8} {'pandas peak':>11} {'catalog peak':>12}   "
        f"{'first request (pandas / catalog), not in the peaks'}"
    )
    for kind, op in cases:
        plain, ours = results[f"{kind} {op} pandas"], results[f"{kind} {op} catalog"]
        frame = ours["frame_mb"]
        print(
            f"{kind + ' ' + op:<10} {plain['seconds']:>9.2f} {ours['seconds']:>10.2f} "
            f"{ours['seconds'] / plain['seconds']:>5.2f}x   {frame:>8.1f} "
            f"{plain['peak_mb'] / frame:>10.2f}x {ours['peak_mb'] / frame:>11.2f}x"
            + f"   {plain['warmup_mb']:.1f} MB / {ours['warmup_mb']:.1f} MB"
            f" ({plain['warmup_mb'] / frame:.2f}x / {ours['warmup_mb'] / frame:.2f}x)"
        )


if __name__ == "__main__":
    sys.exit(main())
