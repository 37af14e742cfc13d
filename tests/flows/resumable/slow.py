"""A foreach whose splits take a while (FLOWKIT_SLOW_SECONDS), for killing the runner mid-way."""

import os
import time

from flowkit import FlowSpec, step


class SlowFlow(FlowSpec):
    @step
    def start(self):
        self.items = list(range(6))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        if self.input >= 2:
            time.sleep(float(os.environ.get("FLOWKIT_SLOW_SECONDS", "30")))
        self.value = self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.value for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    SlowFlow()
