from flowkit import FlowSpec, retry, step


class PositionalFlow(FlowSpec):
    @retry(3)
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    PositionalFlow()
