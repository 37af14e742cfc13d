"""Valid: a switch inside a foreach body; the join closes the foreach."""

from flowkit import FlowSpec, step


class SwitchInForeachFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2, 3, 4]
        self.next(self.body, foreach="items")

    @step
    def body(self):
        self.parity = "even" if self.input % 2 == 0 else "odd"
        self.next({"even": self.even, "odd": self.odd}, condition="parity")

    @step
    def even(self):
        self.v = self.input * 10
        self.next(self.join)

    @step
    def odd(self):
        self.v = self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.vs = sorted(i.v for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        print("vs", self.vs)


if __name__ == "__main__":
    SwitchInForeachFlow()
