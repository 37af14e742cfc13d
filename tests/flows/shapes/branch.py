"""A static split into two branches, joined by name, with merge_artifacts."""

from _probe import probe

from flowkit import FlowSpec, step


class BranchFlow(FlowSpec):
    @step
    def start(self):
        probe(self)
        self.shared = "same everywhere"
        self.base = 10
        self.next(self.left, self.right)

    @step
    def left(self):
        probe(self)
        self.x = self.base + 1
        self.only_left = "L"
        self.next(self.join)

    @step
    def right(self):
        probe(self)
        self.x = self.base + 2
        self.next(self.join)

    @step
    def join(self, inputs):
        probe(self)
        self.xs = sorted(i.x for i in inputs)
        self.from_left = inputs.left.x
        self.from_right = inputs.right.x
        self.merge_artifacts(inputs, exclude=["x"])
        self.next(self.end)

    @step
    def end(self):
        probe(self)
        self.result = {
            "xs": self.xs,
            "left": self.from_left,
            "right": self.from_right,
            "shared": self.shared,
            "only_left": self.only_left,
            "has_x": hasattr(self, "x"),
        }
        print("result", self.result)


if __name__ == "__main__":
    BranchFlow()
