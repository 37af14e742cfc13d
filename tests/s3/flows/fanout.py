"""A foreach whose splits keep their element and store a new value; a join reads both."""

from flowkit import FlowSpec, Parameter, step


class FanOutFlow(FlowSpec):
    width = Parameter("width", default=12)

    @step
    def start(self):
        self.items = [f"element {i}" for i in range(self.width)]
        self.next(self.body, foreach="items")

    @step
    def body(self):
        self.same = self.input  # the element's own blob: already stored
        self.y = self.input.upper()
        self.next(self.join)

    @step
    def join(self, inputs):
        self.sames = [i.same for i in inputs]
        self.ys = [i.y for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    FanOutFlow()
