"""A foreach inside a foreach; each level has its own join."""

from _probe import probe

from flowkit import FlowSpec, step


class NestedForeachFlow(FlowSpec):
    @step
    def start(self):
        probe(self)
        self.letters = ["a", "b"]
        self.next(self.outer, foreach="letters")

    @step
    def outer(self):
        probe(self)
        self.letter = self.input
        self.numbers = [1, 2, 3]
        self.next(self.inner, foreach="numbers")

    @step
    def inner(self):
        probe(self)
        self.word = f"{self.letter}{self.input}"
        self.stack = [(i, n) for i, n, _ in self.foreach_stack()]
        self.next(self.inner_join)

    @step
    def inner_join(self, inputs):
        probe(self)
        self.words = [i.word for i in inputs]
        self.letter = inputs[0].letter
        self.next(self.outer_join)

    @step
    def outer_join(self, inputs):
        probe(self)
        self.all_words = [w for i in inputs for w in i.words]
        self.next(self.end)

    @step
    def end(self):
        probe(self)
        self.result = {"words": self.all_words}
        print("result", self.result)


if __name__ == "__main__":
    NestedForeachFlow()
