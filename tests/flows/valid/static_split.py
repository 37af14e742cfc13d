"""Valid: a static split into three branches (one two steps long) and their join."""

from flowkit import FlowSpec, step


class StaticSplitFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.a, self.b, self.c)

    @step
    def a(self):
        self.v = "a"
        self.next(self.join)

    @step
    def b(self):
        self.v = "b"
        self.next(self.b2)

    @step
    def b2(self):
        self.next(self.join)

    @step
    def c(self):
        self.v = "c"
        self.next(self.join)

    @step
    def join(self, inputs):
        self.vs = sorted(i.v for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        print("vs", self.vs)


if __name__ == "__main__":
    StaticSplitFlow()
