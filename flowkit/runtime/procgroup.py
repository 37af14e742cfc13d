"""Stopping what a finished task left running in its process group.

Every local task runs in its own process group, which the processes it starts (``Popen``,
``os.fork``, ``multiprocessing``) join by default. When the task's own process has ended, whatever
is left of the group is sent SIGTERM, and SIGKILL after a short grace, so no step's helper process
outlives its task or the run. A process that leaves the group (``os.setsid``,
``start_new_session=True``, ``os.setpgid``) escapes on purpose and is not touched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

GRACE_S = 2.0
_PROC = Path("/proc")


def group_alive(pgid: int) -> bool:
    """Whether a process other than a zombie is still in group ``pgid``.

    A zombie (a process that has exited but was not yet collected by its parent, which for
    orphans is the machine's init) still counts for ``killpg``, so on Linux the members are read
    from ``/proc``; elsewhere any member counts.
    """
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or not ours to signal
        return False
    if not _PROC.is_dir():
        return True
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # it ended while we looked
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class LeftoverGroups:
    """Process groups of finished tasks that still had members: stopped, then killed.

    Stopping does not block the scheduler: :meth:`stop` sends SIGTERM, :meth:`check` (called on
    every poll) sends SIGKILL to groups still alive after the grace, and :meth:`finish` (at the
    end of the run) waits out the grace of the last ones.

    Args:
        grace: Seconds between SIGTERM and SIGKILL.
    """

    def __init__(self, grace: float = GRACE_S) -> None:
        self.grace = grace
        self._deadlines: dict[int, float] = {}

    def __bool__(self) -> bool:
        return bool(self._deadlines)

    def stop(self, pgid: int) -> None:
        """Send SIGTERM to what is left of group ``pgid`` (its leader has been reaped)."""
        if group_alive(pgid):
            _signal_group(pgid, signal.SIGTERM)
            self._deadlines[pgid] = time.monotonic() + self.grace

    def next_deadline(self) -> float | None:
        """The ``time.monotonic()`` of the next SIGKILL due, if any."""
        return min(self._deadlines.values(), default=None)

    def check(self) -> None:
        """Forget groups that are gone; SIGKILL those whose grace is over."""
        now = time.monotonic()
        for pgid, deadline in list(self._deadlines.items()):
            if not group_alive(pgid):
                del self._deadlines[pgid]
            elif now >= deadline:
                _signal_group(pgid, signal.SIGKILL)
                del self._deadlines[pgid]

    def finish(self) -> None:
        """Wait until every group is gone or killed."""
        while self._deadlines:
            self.check()
            if self._deadlines:
                time.sleep(0.02)
