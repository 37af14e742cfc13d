"""A foreach over a set of strings: each split must get exactly the element its parent assigned.

``FLOWKIT_TEST_FAIL_ITEM=item7`` makes the split working on that element fail (for resume).
"""

import os

from flowkit import FlowSpec, step


class SetItemsFlow(FlowSpec):
    @step
    def start(self):
        self.items = {f"item{i}" for i in range(40)}
        self.order = list(self.items)  # this interpreter's order: what the splits must follow
        self.next(self.work, foreach="items")

    @step
    def work(self):
        if self.input == os.environ.get("FLOWKIT_TEST_FAIL_ITEM"):
            raise RuntimeError(f"planned failure on {self.input}")
        self.got = (self.index, self.input)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.got = [i.got for i in inputs]
        self.order = inputs[0].order
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    SetItemsFlow()
