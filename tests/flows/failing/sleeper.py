"""Two long parallel steps that print their pids, for interrupt tests."""

import os
import time

from flowkit import FlowSpec, step


class SleepFlow(FlowSpec):
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
    SleepFlow()
