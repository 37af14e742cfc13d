"""How fast is the edit loop of one step: ``spin`` against a whole ``run``?

Usage: python benchmarks/bench_spin.py [--repeat 5]

Times, each as the median of ``--repeat`` tries, on the 5-step linear flow of
``benchmarks/flows/fk_linear.py`` with a throw-away datastore (run once first to give spin its
inputs):

- ``python fk_linear.py run`` (the whole flow, for reference);
- ``python fk_linear.py spin b`` (one step, nothing stored);
- ``python fk_linear.py spin b --persist`` (the outputs kept in ``.flowkit_spin``);
- ``Runner("fk_linear.py").spin("b", persist=True)`` and reading ``handle.task``;
- the step itself, as the spin reports it (``handle.seconds``).

Metaflow 2.19's ``spin`` is timed on ``flows/mf_linear.py`` when ``metaflow`` is installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
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


def _command(flow: Path, folder: Path, env: dict[str, str], *args: str) -> Callable[[], None]:
    def call() -> None:
        subprocess.run(
            [sys.executable, str(flow), *args], cwd=folder, env=env, check=True, capture_output=True
        )

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    from flowkit import Runner

    folder = Path(tempfile.mkdtemp(prefix="bench-spin-"))
    try:
        env = dict(os.environ, FLOWKIT_DATASTORE_ROOT=str(folder / "ds"))
        _command(FK_FLOW, folder, env, "run")()
        figures = {
            "run (whole flow)": _median(_command(FK_FLOW, folder, env, "run"), repeat),
            "spin b": _median(_command(FK_FLOW, folder, env, "spin", "b"), repeat),
            "spin b --persist": _median(
                _command(FK_FLOW, folder, env, "spin", "b", "--persist"), repeat
            ),
        }
        step_seconds: list[float] = []

        def api() -> None:
            runner = Runner(FK_FLOW, show_output=False, cwd=folder, env=env)
            with runner.spin("b", persist=True) as spin:
                assert spin.task.successful
                step_seconds.append(spin.seconds)

        figures["Runner.spin(persist=True) + task"] = _median(api, repeat)
        figures["the step itself"] = statistics.median(step_seconds)
        if importlib.util.find_spec("metaflow") is not None:
            mf_env = dict(os.environ, METAFLOW_DATASTORE_SYSROOT_LOCAL=str(folder / "mf"))
            _command(MF_FLOW, folder, mf_env, "run")()
            figures["metaflow spin b"] = _median(
                _command(MF_FLOW, folder, mf_env, "spin", "b"), repeat
            )
        for name, seconds in figures.items():
            print(f"{name:38s} {seconds * 1000:8.1f} ms")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
