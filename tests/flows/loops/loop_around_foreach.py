"""A loop around a whole foreach: after the join, a switch goes back to the step that fans out,
so every pass runs its own splits and its own join."""

from flowkit import FlowSpec, step


class LoopAroundForeachFlow(FlowSpec):
    @step
    def start(self):
        self.rounds = []
        self.next(self.fan)

    @step
    def fan(self):
        self.items = [len(self.rounds) * 10 + i for i in range(2)]
        self.next(self.work, foreach="items")

    @step
    def work(self):
        self.value = self.input + 1
        self.next(self.gather)

    @step
    def gather(self, inputs):
        self.rounds = [*inputs[0].rounds, [inp.value for inp in inputs]]
        self.state = "again" if len(self.rounds) < 3 else "done"
        self.next({"again": self.fan, "done": self.end}, condition="state")

    @step
    def end(self):
        self.result = self.rounds
        print("result", self.result)


if __name__ == "__main__":
    LoopAroundForeachFlow()
