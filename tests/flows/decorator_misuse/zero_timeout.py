from flowkit import FlowSpec, step, timeout


class ZeroTimeoutFlow(FlowSpec):
    @timeout(seconds=0)
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ZeroTimeoutFlow()
