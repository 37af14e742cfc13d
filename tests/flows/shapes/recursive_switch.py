"""A step that repeats itself through a switch until a counter reaches a limit."""

from _probe import probe

from flowkit import FlowSpec, Parameter, step


class RecursiveSwitchFlow(FlowSpec):
    times = Parameter("times", default=4, help="how many passes of the loop step")

    @step
    def start(self):
        probe(self)
        self.count = 0
        self.seen = []
        self.next(self.loop_step)

    @step
    def loop_step(self):
        probe(self)
        self.count += 1
        self.seen = [*self.seen, self.count]
        self.loop_status = "continue" if self.count < self.times else "exit"
        self.next({"continue": self.loop_step, "exit": self.exit_loop}, condition="loop_status")

    @step
    def exit_loop(self):
        probe(self)
        self.final = self.count
        self.next(self.end)

    @step
    def end(self):
        probe(self)
        self.result = {"count": self.final, "seen": self.seen}
        print("result", self.result)


if __name__ == "__main__":
    RecursiveSwitchFlow()
