"""A loop inside one branch of a static split, then a loop nested inside another loop."""

from flowkit import FlowSpec, step


class NestedLoopsFlow(FlowSpec):
    @step
    def start(self):
        self.n = 0
        self.next(self.a, self.b)

    @step
    def a(self):
        self.n += 1
        self.s = "again" if self.n < 3 else "done"
        self.next({"again": self.a, "done": self.join}, condition="s")

    @step
    def b(self):
        self.n = 100
        self.next(self.join)

    @step
    def join(self, inputs):
        self.ns = sorted(i.n for i in inputs)
        self.outer = 0
        self.next(self.o1)

    @step
    def o1(self):
        self.outer += 1
        self.inner = 0
        self.next(self.i1)

    @step
    def i1(self):
        self.inner += 1
        self.s = "again" if self.inner < 2 else "done"
        self.next({"again": self.i1, "done": self.o2}, condition="s")

    @step
    def o2(self):
        self.s = "again" if self.outer < 3 else "done"
        self.next({"again": self.o1, "done": self.end}, condition="s")

    @step
    def end(self):
        self.result = {"ns": self.ns, "outer": self.outer, "inner": self.inner}
        print("result", self.result)


if __name__ == "__main__":
    NestedLoopsFlow()
