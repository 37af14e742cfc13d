"""What ``MyFlow()`` at the bottom of a flow file starts: the flow's command line.

The flow language (:mod:`flowkit.dsl`) sits below the CLI and must not import it, yet
constructing a flow in ``__main__`` has to hand over to the command line. So the DSL calls
:func:`run_flow_main`, and the ``flowkit`` package — imported before any of its modules, and
above every layer — plugs the CLI in with :func:`set_flow_main`. Standard library only, so
``import flowkit`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable

_flow_main: Callable[[type], None] | None = None


def set_flow_main(main: Callable[[type], None]) -> None:
    """Make ``main(flow_cls)`` what a flow constructed in ``__main__`` runs.

    Args:
        main: Takes the flow class; normally :func:`flowkit.cli.flow_cli.run_flow_cli`.
    """
    global _flow_main
    _flow_main = main


def run_flow_main(flow_cls: type) -> None:
    """Start the command line of ``flow_cls`` (what ``MyFlow()`` does).

    Raises:
        RuntimeError: Nothing was plugged in; cannot happen through ``import flowkit``, whose
            package module plugs the CLI in before any flowkit module is imported.
    """
    if _flow_main is None:
        raise RuntimeError("flowkit's command line is not plugged in (import flowkit first)")
    _flow_main(flow_cls)
