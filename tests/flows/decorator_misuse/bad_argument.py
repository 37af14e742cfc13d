from flowkit import FlowSpec, retry, step


class BadArgumentFlow(FlowSpec):
    @retry(tims=3)
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    BadArgumentFlow()
