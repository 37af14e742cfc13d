"""A step that writes too much (FLOWKIT_TEST_WRITE: ``artifact`` or ``log``) next to one that
sleeps, for datastore write errors: the test caps file sizes (RLIMIT_FSIZE) or breaks S3."""

import os
import time

from flowkit import FlowSpec, step

_BIG = 3 * 1024 * 1024


class WriteFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.big, self.sleepy)

    @step
    def big(self):
        print("big started", flush=True)
        time.sleep(float(os.environ.get("FLOWKIT_TEST_WAIT", "0")))
        if os.environ.get("FLOWKIT_TEST_WRITE") == "log":
            print("x" * _BIG, flush=True)
        else:
            self.blob = os.urandom(_BIG)
        self.next(self.join)

    @step
    def sleepy(self):
        print("pid", os.getpid(), flush=True)
        time.sleep(60)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    WriteFlow()
