"""Task output: captured for the datastore and echoed live with a ``[run/step/task]`` prefix.

Neither part holds a task's output in memory: the log is spooled to an unnamed temporary file
once it outgrows a small buffer (and streamed to the datastore at commit), and the echo keeps at
most the tail of one unfinished line. So a task may print gigabytes, or a progress bar that
redraws one line with ``\\r`` for hours, and the runner's memory stays flat.
"""

from __future__ import annotations

import contextlib
import tempfile
from typing import IO, BinaryIO

# Output up to this size stays in memory: most tasks print little, and a file per stream per
# task would cost a wide foreach a system call or two per task.
SPOOL_MEMORY_MAX = 1 << 20
# The live echo shows at most this much of one line (its end); the log keeps everything.
ECHO_LINE_MAX = 16 * 1024


class LogSpool:
    """The bytes of one stream of one task: in memory while small, then in a temporary file.

    The file is created unnamed (or unlinked at once), so it disappears when closed or when
    the process dies, whatever happens to the task or the runner.

    Attributes:
        size: How many bytes were written.
        error: Why the bytes could not be kept (the temporary folder is full, say), or ``""``.
            Once set, later bytes are counted but dropped, and the commit reports the log as
            not storable instead of storing a truncated one.
    """

    def __init__(self, memory_max: int = SPOOL_MEMORY_MAX) -> None:
        self._memory_max = memory_max
        self._buffer = bytearray()
        self._file: IO[bytes] | None = None
        self.size = 0
        self.error = ""

    def write(self, data: bytes) -> None:
        """Append ``data``; a failure to spool is kept in :attr:`error`, never raised."""
        self.size += len(data)
        if self.error:
            return
        try:
            if self._file is not None:
                self._file.write(data)
                return
            self._buffer += data
            if len(self._buffer) > self._memory_max:
                self._file = tempfile.TemporaryFile(prefix="flowkit-log-")  # noqa: SIM115 (closed by close())
                self._file.write(self._buffer)
                self._buffer = bytearray()
        except OSError as exc:  # the runner must go on reading the task's pipes regardless
            self.error = (
                f"the runner could not spool it to a temporary file ({exc.strerror or exc})"
            )
            self.close()

    @property
    def spooled(self) -> bool:
        """Whether the bytes are in a temporary file rather than in memory."""
        return self._file is not None

    def getvalue(self) -> bytes:
        """Everything written, in memory (for small logs and tests)."""
        if self._file is None:
            return bytes(self._buffer)
        self._file.flush()
        self._file.seek(0)
        data = self._file.read()
        self._file.seek(0, 2)
        return data

    def reader(self) -> IO[bytes]:
        """The spool file, flushed and rewound, to be streamed to storage.

        Raises:
            ValueError: The bytes are in memory (see :attr:`spooled`).
        """
        if self._file is None:
            raise ValueError("the log is in memory: use getvalue()")
        self._file.flush()
        self._file.seek(0)
        return self._file

    def close(self) -> None:
        """Release the memory or the temporary file."""
        if self._file is not None:
            # A flush that fails here (full disk) loses nothing: the bytes are being discarded.
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        self._buffer = bytearray()


LogData = bytes | LogSpool
"""A captured stream as the runner commits it: bytes, or a spool too large to hold."""


def visible_line(line: bytes) -> bytes:
    """What a terminal shows of ``line``: the text after its last carriage return.

    A progress bar redraws itself with ``\\r``; echoing every redraw of a finished bar with a
    prefix would print its whole history on one line.
    """
    if b"\r" not in line:
        return line
    return line.rstrip(b"\r").rpartition(b"\r")[2]


class StreamCapture:
    """One stream (stdout or stderr) of one task.

    Keeps every byte for the task's log (:attr:`log`) and echoes complete lines to ``sink`` as
    they arrive, so output of parallel tasks interleaves by line, never mid-line. The work per
    byte is constant, so a line without a newline costs no more than many short ones.
    """

    def __init__(self, prefix: str, sink: BinaryIO | None) -> None:
        self._prefix = prefix.encode()
        self._sink = sink
        self._partial = bytearray()  # the end of the line being received
        self._dropped = 0  # bytes of that line no longer held
        self.log = LogSpool()

    def feed(self, chunk: bytes) -> None:
        """Add bytes read from the task's pipe."""
        self.log.write(chunk)
        if self._sink is None:
            return
        head, sep, tail = chunk.rpartition(b"\n")
        if sep:
            lines = head.split(b"\n")
            first = 0
            if self._partial or self._dropped:
                self._partial += lines[0]
                lines[0] = self._finish_line()
                first = 1
            if b"\r" in head or max(map(len, lines)) > ECHO_LINE_MAX:
                lines[first:] = [self._shorten(visible_line(line), 0) for line in lines[first:]]
            self._sink.write(b"".join(self._prefix + line + b"\n" for line in lines))
            self._sink.flush()
        self._add_partial(tail)

    def _add_partial(self, piece: bytes) -> None:
        self._partial += piece
        if len(self._partial) > 2 * ECHO_LINE_MAX:  # trim rarely: linear time overall
            excess = len(self._partial) - ECHO_LINE_MAX
            del self._partial[:excess]
            self._dropped += excess

    def _finish_line(self) -> bytes:
        held, dropped = bytes(self._partial), self._dropped
        self._partial, self._dropped = bytearray(), 0
        if b"\r" in held.rstrip(b"\r"):  # what was dropped was overwritten by a \r anyway
            return visible_line(held)
        return self._shorten(visible_line(held), dropped)

    @staticmethod
    def _shorten(line: bytes, dropped: int) -> bytes:
        if len(line) > ECHO_LINE_MAX:
            dropped += len(line) - ECHO_LINE_MAX
            line = line[-ECHO_LINE_MAX:]
        if not dropped:
            return line
        return b"[... %d bytes of this line not shown; the task's log has them] " % dropped + line

    def close(self) -> None:
        """Echo a last line that had no newline."""
        if self._sink is not None and (self._partial or self._dropped):
            self._sink.write(self._prefix + self._finish_line() + b"\n")
            self._sink.flush()
        self._partial, self._dropped = bytearray(), 0
