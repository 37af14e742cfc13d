"""The runner's heartbeat: a lease in the run's record area, renewed while the run executes.

A runner that is killed outright (SIGKILL, out-of-memory killer, power loss) cannot write an end
record, so without a sign of life its run would read as "running" forever. The runner renews a
small lease object every ``heartbeat_interval`` seconds, valid for ``heartbeat_expiry`` seconds;
readers report a run without an end record whose lease has expired as ``lost``.

The lease is renewed from the runner's main loop, not from a background thread: tasks are forks
of the runner, and a thread that holds a lock (the S3 client's connection pool, a logging or
stdout lock) at the moment of a fork leaves that lock held forever in the child. The main loop
never waits more than a second between two passes, so the lease is renewed on time unless one
datastore write blocks for longer than the expiry (the expiry is deliberately generous).
"""

from __future__ import annotations

import time

from flowkit.datastore.flowstore import FlowDatastore
from flowkit.errors import DatastoreError
from flowkit.runtime.progress import warn


class Heartbeat:
    """Renews a run's lease when :meth:`beat` is called and the interval has passed.

    Args:
        store: The flow's datastore.
        run_id: The run.
        interval: Seconds between two renewals.
        expiry: Seconds each renewal keeps the run alive.
    """

    def __init__(self, store: FlowDatastore, run_id: str, interval: float, expiry: float) -> None:
        self.store = store
        self.run_id = run_id
        self.interval = interval
        self.expiry = expiry
        self._due = 0.0
        self._warned = False

    def beat(self) -> None:
        """Renew the lease if it is due; a failed renewal is reported once, not raised.

        A lease that cannot be written only makes readers call the run ``lost`` early; failing
        the run for it would turn a reader's inconvenience into lost work.
        """
        now = time.monotonic()
        if now < self._due:
            return
        self._due = now + self.interval
        try:
            self.store.renew_lease(self.run_id, self.expiry)
        except (DatastoreError, OSError) as exc:
            if not self._warned:
                self._warned = True
                warn(
                    f"flowkit: warning: cannot renew the lease of run {self.store.flow_name}/"
                    f"{self.run_id} ({exc}); readers may show the run as lost"
                )
