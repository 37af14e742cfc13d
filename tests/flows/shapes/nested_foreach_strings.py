"""Three foreach levels over strings (one split per character), joined level by level."""

from _probe import probe

from flowkit import FlowSpec, step


class NestedStringForeachFlow(FlowSpec):
    @step
    def start(self):
        probe(self)
        self.x = "abc"
        self.next(self.foreach_split_x)

    @step
    def foreach_split_x(self):
        probe(self)
        self.next(self.foreach_split_y, foreach="x")

    @step
    def foreach_split_y(self):
        probe(self)
        self.y = "de"
        self.next(self.foreach_split_z, foreach="y")

    @step
    def foreach_split_z(self):
        probe(self)
        self.z = "fghijk"
        self.next(self.foreach_inner, foreach="z")

    @step
    def foreach_inner(self):
        probe(self)
        self.word = "".join(value for _, _, value in self.foreach_stack())
        self.next(self.foreach_join_z)

    @step
    def foreach_join_z(self, inputs):
        probe(self)
        self.words = [inp.word for inp in inputs]
        self.next(self.foreach_join_y)

    @step
    def foreach_join_y(self, inputs):
        probe(self)
        self.words = [w for inp in inputs for w in inp.words]
        self.next(self.foreach_join_x)

    @step
    def foreach_join_x(self, inputs):
        probe(self)
        self.words = [w for inp in inputs for w in inp.words]
        self.next(self.end)

    @step
    def end(self):
        probe(self)
        self.result = {"words": self.words}
        print("result", self.result)


if __name__ == "__main__":
    NestedStringForeachFlow()
