"""Three Batch splits that sleep for a minute: interrupted by the Ctrl-C test."""

import time

from flowkit import FlowSpec, batch, step


class SleepyBatchFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2, 3]
        self.next(self.nap, foreach="items")

    @batch
    @step
    def nap(self):
        print("napping", self.input, flush=True)
        time.sleep(60)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    SleepyBatchFlow()
