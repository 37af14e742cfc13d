from flowkit import FlowSpec, catch, step


class CatchSwitchFlow(FlowSpec):
    @catch(var="err")
    @step
    def start(self):
        self.mode = "a"
        self.next({"a": self.a, "b": self.b}, condition="mode")

    @step
    def a(self):
        self.next(self.end)

    @step
    def b(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    CatchSwitchFlow()
