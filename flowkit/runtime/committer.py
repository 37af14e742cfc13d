"""Where finished tasks are committed: in the runner's thread, or several at once in a helper.

On a local folder a commit costs well under a millisecond, so the runner commits each task
itself, in order (:class:`Committer`). On S3 a commit is one or more requests of several
milliseconds each; done one after the other, they would hold up every launch. There the runner
hands commits to a *commit process* (:class:`CommitProcess`), which runs many at once while the
runner keeps launching tasks.

Why a process and not threads of the runner: the runner forks every task. A fork copies only
the forking thread, and any lock another thread holds at that moment (inside the S3 client,
OpenSSL, a stream buffer) stays held forever in the child. The commit process is forked once,
before any task, while the runner's S3 client is idle, and never forks itself; the runner keeps
no thread of its own busy with storage while it forks tasks.

Guarantees are those of :func:`~flowkit.runtime.commit.commit_task`, which both use: logs first,
the manifest last in one write, so a task's manifest is visible only when the task is complete.
The runner starts a task's children only once the commit of the task is reported done, and
writes the run's end record only after every commit has ended.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import signal
import socket
import struct
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.datastore.manifest import TaskManifest
from flowkit.errors import DatastoreError, DatastoreWriteError
from flowkit.runtime.commit import commit_task
from flowkit.runtime.interrupts import HANDLED
from flowkit.runtime.output import LogData, LogSpool

#: Commits in flight at once in the commit process (each mostly waits on the network).
COMMIT_THREADS = 16
_HEADER = struct.Struct("!Q")
_STOP = b""  # an empty frame: no more work, finish and exit
_EXIT_WAIT_S = 10.0


@dataclass
class Commit:
    """A commit that has ended.

    Attributes:
        manifest: The task's manifest (with its stored logs' sizes filled in).
        tag: What the runner passed with it, to know what to do next.
        error: Why the commit failed (nothing was made visible), or ``None``.
    """

    manifest: TaskManifest
    tag: Any
    error: BaseException | None = None


def _commit_here(
    store: FlowDatastore, manifest: TaskManifest, logs: Mapping[str, LogData]
) -> BaseException | None:
    try:
        commit_task(store, manifest, logs)
    except (DatastoreError, OSError) as exc:
        return exc
    return None


class Committer:
    """Commits tasks in the runner's own thread, one at a time (for local folders).

    Args:
        store: The flow's datastore.
    """

    def __init__(self, store: FlowDatastore) -> None:
        self.store = store
        self._done: list[Commit] = []

    @property
    def pending(self) -> int:
        """Commits submitted whose end has not been reported by :meth:`finished` yet."""
        return len(self._done)

    def submit(
        self, manifest: TaskManifest, logs: Mapping[str, LogData], tag: Any, *, write: bool = True
    ) -> None:
        """Commit ``logs`` then ``manifest``; ``write=False`` only reports it (already stored)."""
        error = _commit_here(self.store, manifest, logs) if write else None
        self._done.append(Commit(manifest, tag, error))

    def finished(self, timeout: float = 0.0) -> list[Commit]:
        """The commits that ended since the last call; waits up to ``timeout`` for one."""
        done, self._done = self._done, []
        return done

    def drain(self) -> list[Commit]:
        """Wait for every pending commit to end and return them."""
        return self.finished()

    def close(self) -> None:
        """Release what the committer holds (nothing here)."""


class CommitProcess(Committer):
    """Commits tasks in a forked helper process, :data:`COMMIT_THREADS` at a time.

    Must be created before the runner forks any task (see the module docstring). Tasks whose
    output was spooled to a file (over 1 MiB), or could not be kept, are committed in the
    runner's thread as before: the spool cannot be handed over, and such tasks are rare.

    Args:
        store: The flow's datastore (a remote one: nothing is gained on a local folder).
        threads: Commits in flight at once.

    Raises:
        OSError: The helper process could not be started.
    """

    def __init__(self, store: FlowDatastore, threads: int = COMMIT_THREADS) -> None:
        super().__init__(store)
        self._sock, theirs = socket.socketpair()
        self._pid = os.fork()
        if self._pid == 0:  # pragma: no cover - runs in the helper, which never returns
            self._sock.close()
            _serve(store, theirs, threads)
        theirs.close()
        self._sock.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._sock, selectors.EVENT_READ)
        self._inbox = bytearray()
        self._in_flight: dict[int, tuple[TaskManifest, Any]] = {}
        self._next_key = 0
        self._broken = ""

    @property
    def pending(self) -> int:
        return len(self._done) + len(self._in_flight)

    def submit(
        self, manifest: TaskManifest, logs: Mapping[str, LogData], tag: Any, *, write: bool = True
    ) -> None:
        held = [d for d in logs.values() if isinstance(d, LogSpool)]
        if not write or any(spool.spooled or spool.error for spool in held):
            super().submit(manifest, logs, tag, write=write)
            return
        data = {s: d.getvalue() if isinstance(d, LogSpool) else d for s, d in logs.items()}
        for spool in held:
            spool.close()
        self._next_key += 1
        key = self._next_key
        self._in_flight[key] = (manifest, tag)
        if self._broken:
            return  # reported as failed by the next finished()
        frame = pickle.dumps((key, manifest, data), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._send(_HEADER.pack(len(frame)) + frame)
        except OSError as exc:
            self._broken = f"the commit process cannot be reached ({exc.strerror or exc})"

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                sent = self._sock.send(view)
            except BlockingIOError:
                # The helper reads continuously; this only waits for it to catch up.
                with selectors.DefaultSelector() as out:
                    out.register(self._sock, selectors.EVENT_WRITE)
                    out.select(1.0)
                continue
            view = view[sent:]

    def finished(self, timeout: float = 0.0) -> list[Commit]:
        done, self._done = self._done, []
        if self._in_flight and not self._broken and self._selector.select(0 if done else timeout):
            self._receive()
        done += self._take_answers()
        if self._broken:
            error = DatastoreWriteError(
                f"{self._broken}, so the task's results were not committed",
                hint="resume the run",
            )
            done += [Commit(m, tag, error) for m, tag in self._in_flight.values()]
            self._in_flight.clear()
        return done

    def _receive(self) -> None:
        while True:
            try:
                chunk = self._sock.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError as exc:
                self._broken = f"the commit process failed ({exc.strerror or exc})"
                return
            if not chunk:
                self._broken = f"the commit process ended unexpectedly ({self._exit_status()})"
                return
            self._inbox += chunk

    def _take_answers(self) -> list[Commit]:
        done = []
        while len(self._inbox) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._inbox)
            if len(self._inbox) < _HEADER.size + size:
                break
            key, logs, error = pickle.loads(self._inbox[_HEADER.size : _HEADER.size + size])
            del self._inbox[: _HEADER.size + size]
            manifest, tag = self._in_flight.pop(key)
            manifest.logs.update(logs)
            done.append(Commit(manifest, tag, error))
        return done

    def drain(self) -> list[Commit]:
        done = []
        while self.pending:
            done += self.finished(1.0)
        return done

    def _exit_status(self) -> str:
        with contextlib.suppress(ChildProcessError):
            pid, status = os.waitpid(self._pid, os.WNOHANG)
            if pid:
                self._pid = 0
                return f"exit status {os.waitstatus_to_exitcode(status)}"
        return "its connection closed"

    def close(self) -> None:
        """Tell the helper to exit (every commit has ended by now) and wait for it."""
        with contextlib.suppress(OSError):
            self._sock.setblocking(True)
            self._sock.sendall(_HEADER.pack(0))
        self._selector.close()
        self._sock.close()
        if not self._pid:
            return
        deadline = time.monotonic() + _EXIT_WAIT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(self._pid, os.WNOHANG)[0] == 0:
                    time.sleep(0.01)
                    continue
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self._pid, 0)


def _serve(store: FlowDatastore, sock: socket.socket, threads: int) -> None:  # pragma: no cover
    """The helper's main: commit what arrives, answer each, exit on the stop frame."""
    code = 1
    try:
        # Ctrl-C and SIGTERM are the runner's to handle: it tells the helper when to stop. If
        # the runner dies outright, the helper goes with it.
        for number in HANDLED:
            signal.signal(number, signal.SIG_IGN)
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        lock = threading.Lock()

        def commit(key: int, manifest: TaskManifest, logs: dict[str, bytes]) -> None:
            error: BaseException | None
            try:
                error = _commit_here(store, manifest, logs)
            except Exception as exc:  # a bug: the runner re-raises it and records the run
                error = exc
            answer = _answer(key, manifest.logs, error)
            with lock:
                sock.sendall(_HEADER.pack(len(answer)) + answer)

        with ThreadPoolExecutor(threads, thread_name_prefix="flowkit-commit") as pool:
            while True:
                frame = _read_frame(sock)
                if not frame:  # the stop frame, or the runner is gone
                    break
                pool.submit(commit, *pickle.loads(frame))
        code = 0
    finally:
        os._exit(code)


def _answer(key: int, logs: dict[str, int], error: BaseException | None) -> bytes:
    try:
        return pickle.dumps((key, logs, error), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an error that cannot be pickled still reaches the runner, as text
        plain = DatastoreWriteError(f"{type(error).__name__}: {error}")
        return pickle.dumps((key, logs, plain), protocol=pickle.HIGHEST_PROTOCOL)


def _read_frame(sock: socket.socket) -> bytes:
    header = _read_exactly(sock, _HEADER.size)
    if len(header) < _HEADER.size:
        return _STOP
    (size,) = _HEADER.unpack(header)
    return _read_exactly(sock, size) if size else _STOP


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    buffer = bytearray()
    while len(buffer) < size:
        chunk = sock.recv(min(size - len(buffer), 1 << 20))
        if not chunk:
            break
        buffer += chunk
    return bytes(buffer)


def open_committer(store: FlowDatastore) -> Committer:
    """The committer for ``store``: a commit process for network stores, else the runner itself.

    A local folder needs no help, and a ``memory://`` store lives in the runner's process only.
    """
    if store.storage.is_local or store.storage.root.startswith("memory://"):
        return Committer(store)
    return CommitProcess(store)
