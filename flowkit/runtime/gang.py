"""Starting and stopping ``@parallel`` gangs: N tasks that must run at the same time.

A gang reaches the ready queue as the splits of one fan-out (their foreach frame has the var
:data:`~flowkit.dsl.state.PARALLEL_VAR`). Unlike a foreach, its tasks are started together or
not at all — a node waiting for peers that never start would wait forever — so the runner
hands the head of the queue here when it is a gang:

* the whole gang starts once its executor has room for all of it. A gang larger than
  ``--max-workers`` starts when nothing else runs on that executor, exceeding the limit for
  as long as it runs (a warning says so), rather than never starting;
* each task gets the gang's facts in its environment
  (:func:`~flowkit.decorators.parallel.gang_environment`): locally the main node is
  ``127.0.0.1`` and ``MASTER_PORT`` is a port found free on this machine;
* when one task fails, the others still running are stopped at once with a failure of kind
  ``gang``: they may be blocked waiting for the failed peer. Gang tasks are never retried one
  by one; a resume runs the whole gang again.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Protocol

from flowkit.datastore.manifest import TaskManifest
from flowkit.decorators.parallel import gang_environment
from flowkit.dsl.state import PARALLEL_VAR
from flowkit.runtime.executor import Executor
from flowkit.runtime.pool import ExecutorPool
from flowkit.runtime.spec import TaskSpec

LOCAL_MAIN_IP = "127.0.0.1"


class _Queue(Protocol):
    def popleft(self) -> TaskSpec: ...


class GangExecutor(Protocol):
    """What an executor implements to start gangs its own way (e.g. one multi-node job)."""

    def launch_gang(self, specs: list[TaskSpec]) -> None:
        """Start every task of the gang together."""

    def stop_tasks(self, task_ids: set[str], reason: str) -> None:
        """Stop these running tasks; their outcomes are failures of kind ``gang``."""


def is_gang_task(spec: TaskSpec) -> bool:
    """Whether ``spec`` is a task of a ``@parallel`` gang."""
    return bool(spec.foreach) and spec.foreach[-1].var == PARALLEL_VAR


def gang_task_ids(spec: TaskSpec) -> list[str]:
    """Task ids of every task of ``spec``'s gang, node 0 first (they are consecutive)."""
    frame = spec.foreach[-1]
    first = int(spec.task_id) - frame.index
    return [str(first + i) for i in range(frame.num_splits)]


def free_port(host: str = LOCAL_MAIN_IP) -> int:
    """A TCP port nothing listens on now, for the gang's rendezvous on this machine."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def with_gang_environment(specs: list[TaskSpec], main_ip: str, main_port: int | None) -> None:
    """Put the gang's facts (see :func:`gang_environment`) in each spec's ``env``."""
    control = specs[0].task_id
    for spec in specs:
        frame = spec.foreach[-1]
        env = gang_environment(main_ip, main_port, frame.num_splits, frame.index, control)
        spec.env = {**spec.env, **env}


def start_gang(
    pool: ExecutorPool,
    queue: _Queue,
    head: TaskSpec,
    timeout: float | None,
    warn: Callable[[str], None],
) -> bool:
    """Start the gang at the head of ``queue`` if its executor has room for all of it.

    Args:
        pool: The run's executors.
        queue: The ready queue; ``head`` is its first task.
        head: A gang task (node 0: a gang is queued in node order).
        timeout: The step's ``@timeout``, in seconds, for every task of the gang.
        warn: Prints a warning for the user.

    Returns:
        Whether the gang was started (``False``: it waits for room, at the head of the queue).
    """
    executor, limit = pool.executor_for(head.step)
    gang = take_gang(queue, head, executor.active, limit, warn)
    if gang is None:
        return False
    for spec in gang:
        spec.timeout = timeout
    launch_gang(executor, gang)
    return True


def take_gang(
    queue: _Queue,
    head: TaskSpec,
    active: int,
    limit: int,
    warn: Callable[[str], None],
) -> list[TaskSpec] | None:
    """Take the whole gang whose first task is ``head`` off ``queue``, if it can start now.

    Args:
        queue: The ready queue; ``head`` is its first task.
        head: A gang task (node 0: a gang is queued in node order).
        active: Tasks running on the gang's executor.
        limit: How many tasks that executor may run at once.
        warn: Prints a warning for the user.

    Returns:
        The gang's tasks in node order, or ``None`` when it must wait for room.
    """
    size = head.foreach[-1].num_splits
    if active + size > limit and active:
        return None
    if size > limit:
        warn(
            f"flowkit: warning: the @parallel step {head.step!r} starts {size} tasks at once, "
            f"more than the limit of {limit} running tasks; they run together anyway"
        )
    return [queue.popleft() for _ in range(size)]


def launch_gang(executor: Executor, specs: list[TaskSpec]) -> None:
    """Start the gang on ``executor``: its own way if it has one, else task by task."""
    own = getattr(executor, "launch_gang", None)
    if own is not None:
        own(specs)
        return
    with_gang_environment(specs, LOCAL_MAIN_IP, free_port())
    for spec in specs:
        executor.launch(spec)


def stop_peers(
    pool: ExecutorPool, failed: TaskSpec, manifest: TaskManifest, warn: Callable[[str], None]
) -> None:
    """After ``failed`` failed, stop the other tasks of its gang that still run."""
    executor = pool.executor_for(failed.step)[0]
    stop = getattr(executor, "stop_tasks", None)
    frame = failed.foreach[-1]
    if manifest.failure is not None and manifest.failure.kind == "gang":
        return  # stopped because of a peer: that peer's failure already stopped the gang
    what = manifest.failure.type if manifest.failure else "an error"
    warn(
        f"flowkit: task {manifest.pathspec} (node {frame.index} of a @parallel gang) failed "
        f"with {what}; the gang fails as a whole"
        + (", stopping its other nodes" if stop is not None else "")
    )
    if stop is not None:
        peers = set(gang_task_ids(failed)) - {failed.task_id}
        stop(
            peers,
            f"stopped because node {frame.index} of its @parallel gang (task "
            f"{manifest.pathspec}) failed with {what}",
        )
