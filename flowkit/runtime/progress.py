"""How the runner tells what it is doing: records of the ``flowkit.runtime`` logger.

The runner reports progress (a run started, succeeded, a task is retried) at ``INFO`` and what
needs attention (a warning from a decorator, a failed task, a lease that cannot be renewed) at
``WARNING``, each record's message being the whole line as the CLI shows it. The command line
installs a handler that writes these lines to stderr unchanged (:mod:`flowkit.cli.edge`); a
program that runs flows itself decides with :mod:`logging` where they go, e.g.
``logging.getLogger("flowkit").setLevel(logging.ERROR)`` silences them. With no logging
configured at all, Python shows the warnings on stderr and leaves the progress out.

A task forked from the runner may log too: :mod:`logging` re-creates its handlers' locks in a
forked child (``os.register_at_fork``), so a lock held by another thread at fork time cannot
block it.
"""

from __future__ import annotations

import logging

#: The logger every runtime message goes through (a child of ``flowkit``).
LOGGER = logging.getLogger("flowkit.runtime")


def say(message: str) -> None:
    """Report progress: one line, as the CLI shows it."""
    LOGGER.info(message)


def warn(message: str) -> None:
    """Report something the user should look at: one line, as the CLI shows it."""
    LOGGER.warning(message)
