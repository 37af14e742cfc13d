"""A loop inside each split of a foreach: every split repeats its body a different number of
times, and the join receives exactly one input per split (its last pass)."""

from _probe import probe

from flowkit import FlowSpec, step


class RecursiveForeachFlow(FlowSpec):
    @step
    def start(self):
        probe(self)
        self.items = [1, 3, 2]
        self.next(self.start_loop_for_item, foreach="items")

    @step
    def start_loop_for_item(self):
        probe(self)
        self.target = self.input
        self.passes = 0
        self.next(self.loop_body)

    @step
    def loop_body(self):
        probe(self)
        self.passes += 1
        self.should_continue = str(self.passes < self.target)
        self.next(
            {"True": self.loop_body, "False": self.exit_item_loop}, condition="should_continue"
        )

    @step
    def exit_item_loop(self):
        probe(self)
        self.done = (self.target, self.passes)
        self.next(self.join)

    @step
    def join(self, inputs):
        probe(self)
        self.done = [inp.done for inp in inputs]
        self.next(self.end)

    @step
    def end(self):
        probe(self)
        self.result = {"done": self.done}
        print("result", self.result)


if __name__ == "__main__":
    RecursiveForeachFlow()
