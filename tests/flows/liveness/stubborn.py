"""Two long parallel tasks; ``b`` ignores SIGTERM, so stopping the run takes the kill grace."""

import os
import signal
import time

from flowkit import FlowSpec, step


class StubbornFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        print("pid", os.getpid(), flush=True)
        time.sleep(60)
        self.next(self.join)

    @step
    def b(self):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
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
    StubbornFlow()
