from flowkit import FlowSpec, retry, step


class BelowStepFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    @retry(times=2)
    def end(self):
        pass


if __name__ == "__main__":
    BelowStepFlow()
