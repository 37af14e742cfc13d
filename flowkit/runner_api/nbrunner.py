"""``NBRunner``: run a flow class defined in a notebook cell.

The cell's source is found through the code of the class's steps: IPython compiles every cell
under a file name of its own and registers its text with :mod:`linecache`, so the step
methods' ``co_filename`` leads back to the whole cell, wherever the ``NBRunner`` call is. The
cell is written to a flow file in a private temporary folder, minus the statements that only
make sense in the notebook (the ``NBRunner`` call and what follows it, IPython magics, a
``__main__`` block), with ``if __name__ == "__main__": MyFlow()`` appended;
:class:`Runner` runs that file.
"""

from __future__ import annotations

import ast
import inspect
import linecache
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowkit.runner_api.executing import ExecutingRun, RunnerError
from flowkit.runner_api.runner import Runner

if TYPE_CHECKING:
    from flowkit.client import Run, Task
    from flowkit.runner_api.spinning import ExecutingSpin


def cell_source(flow: type) -> str:
    """The source of the cell (or file) that defines ``flow``.

    Raises:
        RunnerError: The class's source cannot be found (e.g. defined with ``exec``).
    """
    for value in vars(flow).values():
        code = getattr(value, "__code__", None)
        if code is not None:
            lines = linecache.getlines(code.co_filename)
            if lines:
                return "".join(lines)
    try:
        return inspect.getsource(flow)
    except (OSError, TypeError) as exc:
        raise RunnerError(
            f"the source of {flow.__name__} cannot be found",
            hint="define the flow (with its imports) in one notebook cell, or in a file and "
            "use Runner('flow.py')",
        ) from exc


def _uses(statement: ast.stmt, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(statement))


def _flow_statements(tree: ast.Module) -> list[ast.stmt]:
    """The statements of the cell that make the flow file.

    Dropped: IPython magics (compiled to ``get_ipython()`` calls), a ``__main__`` block, and
    the first statement using ``NBRunner`` with everything after it but imports (what follows
    the call works with its result, which the flow file does not have).
    """
    kept: list[ast.stmt] = []
    after_call = False
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            kept.append(statement)
            continue
        after_call = after_call or _uses(statement, {"NBRunner"})
        if after_call or _uses(statement, {"get_ipython"}):
            continue
        if isinstance(statement, ast.If) and "__main__" in ast.unparse(statement.test):
            continue
        kept.append(statement)
    return kept


def flow_file_source(flow: type) -> str:
    """A flow file made of the cell defining ``flow``.

    Raises:
        RunnerError: The cell has no such class, or its source is not valid Python.
    """
    source = cell_source(flow)
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise RunnerError(
            f"the cell defining {flow.__name__} is not plain Python ({exc.msg}, line {exc.lineno})",
            hint="move shell commands and magics to another cell",
        ) from exc
    lines = source.splitlines()
    kept: list[str] = []
    for statement in _flow_statements(tree):
        start = min(
            [statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])]
        )
        end = statement.end_lineno or statement.lineno
        kept.extend(lines[start - 1 : end])
    if not any(isinstance(s, ast.ClassDef) and s.name == flow.__name__ for s in tree.body):
        raise RunnerError(
            f"{flow.__name__} is not defined at the top level of its cell",
            hint="define the flow class at the top level of one cell, with its imports",
        )
    kept += ["", "", 'if __name__ == "__main__":', f"    {flow.__name__}()", ""]
    return "\n".join(kept)


class NBRunner:
    """Run a flow class defined in a notebook: ``NBRunner(MyFlow).nbrun(alpha=3)``.

    The whole flow, with the imports it needs, must be defined in one cell (other cells'
    variables can be passed as parameter values).

    Args:
        flow: The flow class.
        show_output: Echo the run's output into the notebook.
        profile: Not supported; must stay ``None``.
        env: Environment variables for the run.
        base_dir: Folder in which the temporary flow file's private folder is made (default:
            the system's temporary folder).
        file_read_timeout: Seconds ``async_run`` waits for the run to be created.
        **kwargs: Top-level options: ``datastore_root``, ``debug``.

    The run starts in the notebook's current folder, so it uses the same datastore as the
    client in the notebook.
    """

    def __init__(
        self,
        flow: type,
        show_output: bool = True,
        profile: str | None = None,
        env: dict[str, str] | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        file_read_timeout: float = 3600.0,
        **kwargs: Any,
    ) -> None:
        self.flow = flow
        self.source = flow_file_source(flow)
        self.base_dir = base_dir
        self._options: dict[str, Any] = dict(
            show_output=show_output,
            profile=profile,
            env=env,
            cwd=Path.cwd(),
            file_read_timeout=file_read_timeout,
            **kwargs,
        )
        self._folder: Path | None = None
        self._runner: Runner | None = None
        self.runner  # noqa: B018 - checks the options now, as Runner(...) would

    @property
    def runner(self) -> Runner:
        """The :class:`Runner` of the temporary flow file (written again after a cleanup)."""
        if self._runner is None or self._folder is None or not self._folder.exists():
            self._folder = Path(tempfile.mkdtemp(prefix="flowkit-nb-", dir=self.base_dir))
            flow_file = self._folder / f"{self.flow.__name__.lower()}.py"
            flow_file.write_text(self.source, encoding="utf-8")
            try:
                self._runner = Runner(flow_file, **self._options)
            except BaseException:
                self.cleanup()
                raise
        return self._runner

    def nbrun(self, **kwargs: Any) -> Run:
        """Run the flow, wait for it to end and return its client ``Run``.

        Temporary files are removed afterwards (a later ``nbresume`` writes them again).

        Raises:
            RunFailed: The run failed (the message names the failed task, with the traceback).
        """
        return self._finished(self.run(**kwargs))

    def nbresume(self, **kwargs: Any) -> Run:
        """Resume the latest run (or ``origin_run_id=``), wait, and return the new ``Run``."""
        return self._finished(self.resume(**kwargs))

    def nbspin(self, step: str, **kwargs: Any) -> Task:
        """Spin ``step`` (see :meth:`Runner.spin`; always persisted) and return its client
        ``Task``, whose artifacts are the step's outputs: ``nbspin("train")["model"].data``.

        Raises:
            RunFailed: The step failed (the message has its traceback).
        """
        from flowkit.errors import RunFailed

        kwargs["persist"] = True
        try:
            with self.spin(step, **kwargs) as spinning:
                if spinning.status != "successful":
                    raise RunFailed(
                        f"step {step!r} failed when spun with the inputs of "
                        f"{spinning.source}:\n{spinning.stderr.strip()}",
                        hint="fix the cell, run it again, then nbspin again",
                    )
                return spinning.task
        finally:
            self.cleanup()

    def spin(self, step: str, **kwargs: Any) -> ExecutingSpin:
        """Like :meth:`Runner.spin`."""
        return self.runner.spin(step, **kwargs)

    def _finished(self, running: ExecutingRun) -> Run:
        from flowkit.errors import RunFailed

        try:
            run = running.run
            assert run is not None  # a handle is only returned once a run exists
            if running.status != "successful":
                raise RunFailed(
                    f"run {run.pathspec} failed: {running.failure}",
                    hint="fix the cell, run it again, then NBRunner(...).nbresume()",
                )
            return run
        finally:
            self.cleanup()

    def run(self, **kwargs: Any) -> ExecutingRun:
        """Like :meth:`Runner.run`."""
        return self.runner.run(**kwargs)

    def resume(self, **kwargs: Any) -> ExecutingRun:
        """Like :meth:`Runner.resume`."""
        return self.runner.resume(**kwargs)

    async def async_run(self, **kwargs: Any) -> ExecutingRun:
        """Like :meth:`Runner.async_run`."""
        return await self.runner.async_run(**kwargs)

    async def async_resume(self, **kwargs: Any) -> ExecutingRun:
        """Like :meth:`Runner.async_resume`."""
        return await self.runner.async_resume(**kwargs)

    def cleanup(self) -> None:
        """Remove the temporary flow file and the runs' temporary files."""
        if self._runner is not None:
            self._runner.cleanup()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
