"""Task logs: exact whatever the line lengths, bounded live echo, no spool files left behind."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from flowkit.runtime.output import ECHO_LINE_MAX, LogSpool, StreamCapture

CLI = "from flowkit.cli.main import main; main()"
LONG = 3 * 1024 * 1024  # beyond the in-memory spool, so the temporary file path is exercised

FLOW = """
import os
import sys

from flowkit import FlowSpec, step


def output(stream, size):
    for _ in range(size // 1000):
        stream.write("x" * 1000)  # one line, no newline
    stream.write("\\n")
    for percent in range(101):
        stream.write(f"\\rprogress {percent}%")
    stream.write("\\n")
    stream.write("short line\\n")
    stream.write("tail without newline")


class LogFlow(FlowSpec):
    @step
    def start(self):
        size = int(os.environ["LOG_SIZE"])
        output(sys.stdout, size)
        output(sys.stderr, size // 2)
        if os.environ.get("LOG_FAIL"):
            sys.stdout.flush()
            raise RuntimeError("failed after printing")
        self.next(self.end)

    @step
    def end(self):
        print("done")


if __name__ == "__main__":
    LogFlow()
"""


def _expected(size: int) -> bytes:
    bar = "".join(f"\rprogress {percent}%" for percent in range(101))
    return (
        "x" * (size // 1000 * 1000) + "\n" + bar + "\nshort line\ntail without newline"
    ).encode()


@pytest.mark.parametrize(
    ("launcher", "fail"),
    [("fork", ""), ("spawn", ""), ("fork", "1")],
    ids=["fork", "spawn", "failed"],
)
def test_long_lines_and_progress_bars_are_logged_exactly(run_flow, tmp_path, launcher, fail):
    flow = tmp_path / "logflow.py"
    flow.write_text(FLOW)
    spool_dir = tmp_path / "tmp"
    spool_dir.mkdir()
    result = run_flow(
        flow,
        "run",
        "--launcher",
        launcher,
        LOG_SIZE=str(LONG),
        LOG_FAIL=fail,
        TMPDIR=str(spool_dir),
    )
    assert result.returncode == (1 if fail else 0), result.output

    store = run_flow.store("LogFlow")
    [task_id] = store.tasks("1", "start")
    manifest = store.read_manifest("1", "start", task_id)
    for stream, size in (("stdout", LONG), ("stderr", LONG // 2)):
        log = store.read_log("1", "start", task_id, 0, stream)
        # A failed task's stderr ends with its traceback.
        assert log == _expected(size) or (fail and stream == "stderr"), stream
        assert log.startswith(_expected(size))
        assert manifest.logs[stream] == len(log)
    assert list(spool_dir.iterdir()) == []  # no spool file survives the run

    # The live echo is line-based and prefixed; the long line is shortened, the bar shows its
    # last state, and the last line without a newline is echoed too.
    prefix = f"[1/start/{task_id}] "
    lines = result.stdout.splitlines()
    assert f"{prefix}progress 100%" in lines
    assert f"{prefix}short line" in lines
    assert f"{prefix}tail without newline" in lines
    [long_echo] = [line for line in lines if line.startswith(prefix + "[...")]
    assert f"{LONG // 1000 * 1000 - ECHO_LINE_MAX} bytes of this line not shown" in long_echo
    assert long_echo.endswith("x" * ECHO_LINE_MAX)
    assert max(len(line) for line in result.stdout.splitlines()) < ECHO_LINE_MAX + 200


def test_client_and_cli_read_a_spooled_log(run_flow, tmp_path, monkeypatch):
    # Reads go through the same storage as ever: one object per stream, however it was written.
    flow = tmp_path / "logflow.py"
    flow.write_text(FLOW)
    assert run_flow(flow, "run", LOG_SIZE=str(LONG)).returncode == 0
    monkeypatch.setenv("FLOWKIT_DATASTORE_ROOT", str(run_flow.root))
    import flowkit

    previous = flowkit.get_namespace()
    flowkit.namespace(None)
    try:
        [task] = list(flowkit.Flow("LogFlow")["1"]["start"])
        assert task.stdout == _expected(LONG).decode()
    finally:
        flowkit.namespace(previous)
    shown = subprocess.run(
        [sys.executable, "-c", CLI, "logs", "--stdout", f"LogFlow/1/start/{task.id}"],
        capture_output=True,
        env=run_flow.env,
        cwd=tmp_path,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.rstrip(b"\n") == _expected(LONG)


def test_capture_of_many_streams_in_small_chunks_keeps_every_byte():
    sink = io.BytesIO()
    captures = [StreamCapture(f"[r/s/{i}] ", sink) for i in range(20)]
    data = [(f"stream {i} " * 5000).encode() + b"\r50%\r100%\nend" for i in range(20)]
    for offset in range(0, max(len(d) for d in data), 997):  # interleaved, odd chunk sizes
        for capture, payload in zip(captures, data):
            if offset < len(payload):
                capture.feed(payload[offset : offset + 997])
    for capture in captures:
        capture.close()
    for i, (capture, payload) in enumerate(zip(captures, data)):
        assert capture.log.getvalue() == payload
        assert capture.log.size == len(payload)
        capture.log.close()
        assert f"[r/s/{i}] 100%\n".encode() in sink.getvalue()
        assert f"[r/s/{i}] end\n".encode() in sink.getvalue()


def test_spool_moves_to_an_unnamed_file_and_closes(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    spool = LogSpool(memory_max=10)
    spool.write(b"12345")
    assert not spool.spooled
    spool.write(b"678901234")
    assert spool.spooled and spool.size == 14
    assert spool.reader().read() == b"12345678901234"
    spool.write(b"5")
    assert spool.getvalue() == b"123456789012345"
    assert list(tmp_path.iterdir()) == []
    spool.close()
    assert spool.size == 15 and spool.getvalue() == b""
