"""What does running a flow from Python cost, and how fast is a step unit test?

Usage: python benchmarks/bench_runner_api.py [--repeat 5]

Times, each as the median of ``--repeat`` tries, on the 5-step linear flow of
``benchmarks/flows/fk_linear.py`` and a throw-away datastore:

- ``python fk_linear.py run`` as a subprocess (the command line, for reference);
- ``Runner("fk_linear.py").run()`` until it returns the finished handle, and reading
  ``running.run.successful`` (what the Runner adds: the parameter check, the run-id file, the
  log files, the client ``Run``);
- ``await Runner(...).async_run()``: how long until the handle (with its run) is returned;
- ``run_step(flow, "start")``: one step unit test, in-process with an in-memory datastore.

Metaflow's Runner is timed on ``flows/mf_linear.py`` when ``metaflow`` is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
FK_FLOW = HERE / "flows" / "fk_linear.py"
MF_FLOW = HERE / "flows" / "mf_linear.py"


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from flowkit import Runner, run_step

    with tempfile.TemporaryDirectory(prefix="flowkit-bench-runner-") as tmp:
        root = str(Path(tmp) / "datastore")
        env = dict(os.environ, FLOWKIT_DATASTORE_ROOT=root)

        def cli() -> None:
            subprocess.run(
                [sys.executable, str(FK_FLOW), "run"], env=env, check=True, capture_output=True
            )

        def blocking() -> None:
            with Runner(FK_FLOW, show_output=False, cwd=tmp, datastore_root=root).run() as r:
                assert r.run is not None and r.run.successful

        async def started() -> float:
            runner = Runner(FK_FLOW, show_output=False, cwd=tmp, datastore_root=root)
            began = time.perf_counter()
            running = await runner.async_run()
            took = time.perf_counter() - began
            async with running:
                await running.wait()
            return took

        spec = importlib.util.spec_from_file_location("fk_linear_bench", FK_FLOW)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        flow_cls = next(
            v for v in vars(module).values() if isinstance(v, type) and v.__module__ == spec.name
        )
        first_step = "start"

        rows = [
            ("python fk_linear.py run (subprocess)", _median(cli, args.repeat)),
            ("Runner(...).run() -> finished handle + Run", _median(blocking, args.repeat)),
            (
                "await Runner(...).async_run() -> handle",
                statistics.median(asyncio.run(started()) for _ in range(args.repeat)),
            ),
            (
                f"run_step(flow, {first_step!r})",
                _median(lambda: run_step(flow_cls, first_step), args.repeat * 20),
            ),
        ]
    if importlib.util.find_spec("metaflow") is not None:
        from metaflow import Runner as MetaflowRunner

        def mf_blocking() -> None:
            with MetaflowRunner(str(MF_FLOW), show_output=False).run() as r:
                assert r.run.successful

        rows.append(("Metaflow Runner(...).run()", _median(mf_blocking, args.repeat)))
    else:
        print("(metaflow is not installed: its Runner is not timed)")
    for name, seconds in rows:
        print(f"{name:48} {seconds * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
