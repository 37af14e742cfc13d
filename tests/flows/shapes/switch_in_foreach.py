"""A switch inside each split of a foreach: every split takes the branch its element picks, and
the join receives one input per split, from whichever branch ran."""

from _probe import probe

from flowkit import FlowSpec, step


class SwitchInForeachFlow(FlowSpec):
    @step
    def start(self):
        probe(self)
        self.items = ["a1", "b2", "a3"]
        self.next(self.process_item, foreach="items")

    @step
    def process_item(self):
        probe(self)
        self.item_type = "type_a" if self.input.startswith("a") else "type_b"
        self.next({"type_a": self.handle_a, "type_b": self.handle_b}, condition="item_type")

    @step
    def handle_a(self):
        probe(self)
        self.handled = f"A:{self.input}"
        self.next(self.join)

    @step
    def handle_b(self):
        probe(self)
        self.handled = f"B:{self.input}"
        self.next(self.join)

    @step
    def join(self, inputs):
        probe(self)
        self.handled = [inp.handled for inp in inputs]
        self.next(self.end)

    @step
    def end(self):
        probe(self)
        self.result = {"handled": self.handled}
        print("result", self.result)


if __name__ == "__main__":
    SwitchInForeachFlow()
