"""Valid: the branches of a split meet directly at end, declared as a join."""

from flowkit import FlowSpec, step


class EndIsJoinFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.v = 1
        self.next(self.end)

    @step
    def b(self):
        self.v = 2
        self.next(self.end)

    @step
    def end(self, inputs):
        print("vs", sorted(i.v for i in inputs))


if __name__ == "__main__":
    EndIsJoinFlow()
