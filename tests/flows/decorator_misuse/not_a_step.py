from flowkit import FlowSpec, retry, step


class NotAStepFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @retry(times=2)
    def helper(self):
        return 1

    @step
    def end(self):
        pass


if __name__ == "__main__":
    NotAStepFlow()
