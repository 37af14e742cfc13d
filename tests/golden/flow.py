"""The flow of the golden datastore (``make_golden.py`` runs it; ``test_golden_v1.py`` resumes it).

Later flowkit versions must still run this file unchanged: keep it to the public API.
A split of ``work`` fails while ``GOLDEN_FAIL`` is set, so the first run is a failed,
resumable one.
"""

import os
from dataclasses import dataclass

from flowkit import FlowSpec, Parameter, step


@dataclass
class Point:
    """A user class defined in the flow file, stored by value."""

    x: int
    y: int


class GoldenFlow(FlowSpec):
    """Linear, branch and foreach parts, with artifacts of several types."""

    alpha = Parameter("alpha", default=3, help="A number carried to the end")

    @step
    def start(self):
        self.numbers = [1, 2, 3]
        self.config = {"name": "golden", "nested": {"ok": True, "ratio": 0.5}}
        self.blob = b"\x00\x01golden"
        self.nothing = None
        print("start: hello from the golden flow")
        self.next(self.left, self.right)

    @step
    def left(self):
        self.side = "left"
        self.point = Point(1, 2)
        self.next(self.join)

    @step
    def right(self):
        self.side = "right"
        self.pair = (self.alpha, "three")
        self.next(self.join)

    @step
    def join(self, inputs):
        self.sides = sorted(branch.side for branch in inputs)
        self.merge_artifacts(inputs, exclude=["side"])
        self.next(self.fan)

    @step
    def fan(self):
        self.letters = ["a", "b", "c"]
        self.next(self.work, foreach="letters")

    @step
    def work(self):
        print(f"work: {self.input}")
        if self.input == "c" and os.environ.get("GOLDEN_FAIL"):
            raise ValueError("golden failure on purpose")
        self.upper = self.input.upper()
        self.next(self.gather)

    @step
    def gather(self, inputs):
        self.uppers = sorted(i.upper for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        self.total = len(self.uppers) * self.alpha
        print(f"end: total {self.total}")


if __name__ == "__main__":
    GoldenFlow()
