"""Task output: captured for the datastore and echoed live with a ``[run/step/task]`` prefix."""

from __future__ import annotations

from typing import BinaryIO


class StreamCapture:
    """One stream (stdout or stderr) of one task.

    Keeps every byte for the task's log and echoes complete lines to ``sink`` as they arrive, so
    output of parallel tasks interleaves by line, never mid-line.
    """

    def __init__(self, prefix: str, sink: BinaryIO | None) -> None:
        self._prefix = prefix.encode()
        self._sink = sink
        self._partial = b""
        self.data = bytearray()

    def feed(self, chunk: bytes) -> None:
        """Add bytes read from the task's pipe."""
        self.data += chunk
        if self._sink is None:
            return
        text = self._partial + chunk
        head, sep, tail = text.rpartition(b"\n")
        self._partial = tail
        if sep:
            lines = head.split(b"\n")
            self._sink.write(b"".join(self._prefix + line + b"\n" for line in lines))
            self._sink.flush()

    def close(self) -> None:
        """Echo a last line that had no newline."""
        if self._sink is not None and self._partial:
            self._sink.write(self._prefix + self._partial + b"\n")
            self._sink.flush()
        self._partial = b""
