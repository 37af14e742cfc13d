"""A wide foreach whose join records the size of its own command line.

``FLOWKIT_TEST_FAIL_JOIN=1`` makes the join fail, so a resume can re-run it alone.
"""

import os
import sys

from flowkit import FlowSpec, Parameter, step


class WideJoinFlow(FlowSpec):
    width = Parameter("width", default=2000, type=int)

    @step
    def start(self):
        self.items = list(range(self.width))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        self.value = self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        if os.environ.get("FLOWKIT_TEST_FAIL_JOIN"):
            raise RuntimeError("planned failure in the join")
        self.total = sum(i.value for i in inputs)
        self.argv_chars = sum(len(arg) + 1 for arg in sys.argv)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    WideJoinFlow()
