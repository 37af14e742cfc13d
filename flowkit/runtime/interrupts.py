"""Stopping a run on a signal: Ctrl-C (SIGINT), SIGTERM and SIGHUP all stop it the same way.

``docker stop``, CI time-outs, batch schedulers and a closed terminal send SIGTERM or SIGHUP, not
SIGINT; each must stop the tasks and record the run as killed, as Ctrl-C does.

The handler only notes the signal; the runner's main loop calls :meth:`RunSignals.check` on every
pass (at least once a second) and stops there. Raising from the handler itself would interrupt
whatever the main thread happens to run, and some of it swallows exceptions: an exception raised
inside ``os.fork``'s at-fork callbacks (``logging`` registers some) is printed and dropped, which
would leave the run going with its stop request lost. Every later signal is only announced, so a
second Ctrl-C cannot cut the cleanup short and leave the run recorded as running.

Tasks are forks of the runner. A fork inherits the runner's handlers, which would make a task
ignore the SIGTERM the runner sends to stop it; so a forked child gets the default handlers back
(``os.register_at_fork``) before it runs anything.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType, TracebackType

from flowkit.runtime.progress import warn

#: The signals that stop a run, with the default disposition a task gets back after a fork.
HANDLED: dict[int, object] = {
    signal.SIGINT: signal.default_int_handler,
    signal.SIGTERM: signal.SIG_DFL,
    signal.SIGHUP: signal.SIG_DFL,
}

_installed = False  # whether a RunSignals block is active in this process


class Interrupted(BaseException):
    """A stopping signal arrived while the run was executing.

    A ``BaseException``, like ``KeyboardInterrupt``: no ``except Exception`` on the way may
    swallow it.

    Attributes:
        signal_number: The signal, e.g. ``signal.SIGTERM``.
    """

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal_number)
        self.signal_number = signal_number


def signal_name(signal_number: int) -> str:
    """``"SIGTERM"`` for 15."""
    try:
        return signal.Signals(signal_number).name
    except ValueError:
        return f"signal {signal_number}"


class RunSignals:
    """While active (a ``with`` block), SIGINT, SIGTERM and SIGHUP are noted for :meth:`check`.

    The first signal makes the next :meth:`check` raise :class:`Interrupted`. Later signals are
    announced ("already stopping") and otherwise ignored, so the run's outcome is recorded before
    the process exits. Outside the main thread (where Python cannot handle signals) the block
    does nothing.

    Attributes:
        received: The first stopping signal that arrived, if any.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._raised = False
        self._told = False
        self._saved: dict[int, object] = {}

    def __enter__(self) -> RunSignals:
        global _installed
        if threading.current_thread() is threading.main_thread():
            for number in HANDLED:
                self._saved[number] = signal.signal(number, self._handle)
            _installed = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global _installed
        for number, handler in self._saved.items():
            signal.signal(number, handler)  # type: ignore[arg-type]
        if self._saved:
            _installed = False

    def check(self) -> None:
        """Raise :class:`Interrupted` once, if a stopping signal has arrived.

        Raises:
            Interrupted: The first time it is called after a signal arrived.
        """
        if self.received is not None and not self._raised:
            self._raised = True
            raise Interrupted(self.received)

    def stopping(self) -> None:
        """The run is ending on its own (failure, error): later signals are only announced."""
        self._raised = True

    def _handle(self, signal_number: int, frame: FrameType | None) -> None:
        if self.received is None and not self._raised:
            self.received = signal_number
            return
        if not self._told:
            self._told = True
            warn(
                f"flowkit: {signal_name(signal_number)} received: the run is already stopping; "
                "recording its outcome first"
            )


def _restore_defaults_in_child() -> None:
    if _installed:
        for number, handler in HANDLED.items():
            signal.signal(number, handler)  # type: ignore[arg-type]


os.register_at_fork(after_in_child=_restore_defaults_in_child)
