"""The S3 backend's event loop and botocore sessions, one of each per process.

Requests are coroutines of aiobotocore's client; they run on an event loop on a daemon thread,
started on first use in each process. A forked child does not inherit the parent's loop thread,
so it starts its own (and takes its own client: see ``S3Backend._get_client``).
Only the standard library and aiobotocore's public session API are used.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from typing import Any, TypeVar

_T = TypeVar("_T")

_LOADER: Any = None  # botocore's data loader, shared by every client of this process
# pid -> the event loop that runs this process's requests, on a daemon thread; and the lock
# that creates it (a lock copied by a fork may be held by a thread that is not there).
_LOOPS: dict[int, asyncio.AbstractEventLoop] = {}
_LOOP_LOCKS: dict[int, threading.Lock] = {}


def new_session(profile: str | None) -> Any:
    """An aiobotocore session for a new client.

    One data loader per process (inherited by forks) keeps the parsed service models, so a
    client takes milliseconds instead of ~200 ms to create.
    """
    import aiobotocore.session

    global _LOADER
    session = aiobotocore.session.AioSession(profile=profile)
    if _LOADER is None:
        _LOADER = session.get_component("data_loader")
    else:
        session.register_component("data_loader", _LOADER)
    return session


def _event_loop() -> asyncio.AbstractEventLoop:
    """This process's event loop for S3 requests, started on first use (again after a fork:
    the parent's loop thread does not exist in the child)."""
    pid = os.getpid()
    loop = _LOOPS.get(pid)
    if loop is None:
        with _LOOP_LOCKS.setdefault(pid, threading.Lock()):
            loop = _LOOPS.get(pid)
            if loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="flowkit-s3", daemon=True)
                thread.start()
                _LOOPS[pid] = loop
    return loop


def run(coro: Coroutine[Any, Any, _T], timeout: float | None = None) -> _T:
    """Run ``coro`` on this process's event loop and wait for its result."""
    future = asyncio.run_coroutine_threadsafe(coro, _event_loop())
    try:
        return future.result(timeout)
    except BaseException:
        future.cancel()
        raise


def close_client(stack: AsyncExitStack, pid: int) -> None:
    """Close a client's connections when its backend is dropped or the process exits."""
    loop = _LOOPS.get(pid)
    if os.getpid() != pid or loop is None or not loop.is_running():
        return
    if threading.current_thread().name == "flowkit-s3":
        return  # dropped on the loop's own thread, which cannot wait for itself
    try:
        run(stack.aclose(), timeout=5)
    except Exception:  # the loop is going away
        return
